//! The guided lesson's text: ten steps that tell the paper's story
//! (Huang et al., "Self-Improvement in Language Models: The Sharpening
//! Mechanism", arXiv 2412.01951) for a first-year student, each with the
//! lab experiment it runs (`setup`: URL settings over the defaults), one or
//! two things to try and a question with its answer. Plain text: the page
//! escapes it and explains its symbols (`ui::glossary`). Numbers quoted
//! here are what the built-in models give with these settings (the lesson
//! tests run every step).

/// One step of the lesson.
pub struct Step {
    pub title: &'static str,
    /// Paragraphs.
    pub text: &'static [&'static str],
    /// The experiment: URL settings applied over the defaults.
    pub setup: &'static str,
    /// Runs by itself when the step opens (every step whose experiment
    /// takes a few seconds); otherwise it waits for the student's Run.
    pub autorun: bool,
    pub try_this: &'static [&'static str],
    pub question: &'static str,
    pub answer: &'static str,
    /// A button that changes the settings: its label and the URL settings
    /// it applies (the real-model step loads SmolLM2 only when asked).
    pub action: Option<(&'static str, &'static str)>,
}

/// The Hugging Face folder of SmolLM2-135M-Instruct (about 270 MB).
pub const SMOLLM2_URL: &str = "https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct/resolve/main/";

pub const STEPS: &[Step] = &[
    Step {
        title: "A model that answers sums",
        text: &[
            "The lab's model is a tiny transformer, the same kind of network as a chatbot but with about 300,000 parameters instead of billions, trained on two-digit sums. Given a prompt x such as 12+34= it writes an answer y one character at a time, and it gives every possible answer a probability pi(y|x).",
            "Below, it has answered the same prompt 16 times. The answers differ because each character is drawn at random from the model's probabilities. The chart shows the exact probability of every answer (bars) beside how often each one was drawn.",
            "The answer with the highest probability is called y* (say \"y star\"): the model's favourite. Nothing guarantees that y* is correct: the model only knows what it learnt from its training data.",
        ],
        setup: "view=explore&task=add&prompt=12%2B34%3D&samples=16",
        autorun: true,
        try_this: &["Type the prompt 19+23= and press Run. Is the favourite still right?", "Set Samples N to 64 and compare the sampled shares with the exact bars."],
        question: "For 12+34=, what is pi(y*), and what share of single samples would you expect to be correct?",
        answer: "y* is 46, the correct sum, with probability 0.49 (exact), so about half of all single samples are right. For 19+23= the favourite is 32 (the carry is dropped): there y* is wrong, and only the samples that happen to be 42 are right.",
        action: None,
    },
    Step {
        title: "The favourite is usually better than a random sample",
        text: &[
            "One prompt says little, so here the model answers 100 prompts. The chart's dashed lines are two ways of answering with no extra work: one sample (draw a single answer) and greedy decoding (take the most likely character at every step, which almost always gives y*).",
            "On this model a single sample is right 44% of the time and y* is right on 85% of these 100 prompts (both exact: every answer's probability is listed). The model knows more than a single sample shows: its probabilities rank the right answer first much more often than they make it likely.",
            "The solid line is best-of-N: draw N answers and keep the one with the highest log-likelihood, log pi(y|x), the model's own score for its answer. No answer key is used: the score is a self-reward.",
        ],
        setup: "view=bon&task=add&n=1,2,4&prompts=100&rewards=loglik",
        autorun: true,
        try_this: &["Find the greedy line and the one-sample line and read off their accuracies.", "Add the self-reward majority (the most frequent answer among the N) and press Run."],
        question: "Why can the model's favourite answer be right much more often than a random sample from the same model?",
        answer: "A sample is right with probability pi(correct answer), about 0.44 on average here. The favourite is right whenever the correct answer has the highest probability, even if that probability is only 0.3 or 0.5. Picking the top answer throws away the probability spread over wrong answers.",
        action: None,
    },
    Step {
        title: "Best-of-N and the 1 \u{2212} (1 \u{2212} p)^N curve",
        text: &[
            "Best-of-N finds y* as soon as y* is among the N samples. If y* has probability p, one sample misses it with probability 1 \u{2212} p, and N independent samples all miss it with probability (1 \u{2212} p)^N. So best-of-N returns y* with probability 1 \u{2212} (1 \u{2212} p)^N.",
            "The second chart compares how often best-of-N really returned y* (measured, with 95% intervals) with this formula (exact). The first chart shows what that does to accuracy: it climbs towards the share of prompts whose y* is right, and no further, while pass@N (an answer key picks the best of the N) keeps climbing.",
        ],
        setup: "view=bon&task=add&n=1,2,4,8,16,32&prompts=100&rewards=loglik,majority",
        autorun: true,
        try_this: &["Compare the loglik and majority lines: which self-reward gets to the ceiling with fewer samples?", "Set Seed to 1 and Run again: which numbers change, and which (the exact ones) do not?"],
        question: "A prompt's favourite has probability p = 0.1. How many samples does best-of-N need to return y* nine times out of ten?",
        answer: "We need 1 \u{2212} 0.9^N \u{2265} 0.9, that is 0.9^N \u{2264} 0.1: N = 22 (0.9^21 = 0.109, 0.9^22 = 0.098). A rarer favourite needs many more samples: this cost is what the next steps remove.",
        action: None,
    },
    Step {
        title: "Amortise: teach the model its own best answers",
        text: &[
            "Best-of-N pays N samples for every answer, every time. SFT-Sharpening pays once: run best-of-N on many prompts, then fine-tune the model on the winners (supervised fine-tuning, SFT). Afterwards a single sample behaves like best-of-N.",
            "Here 32 prompts get 8 samples each; the model is trained on the 32 winners for 40 steps. The curves are exact: pi(y*) rises towards 1 while the entropy (the spread of the answers) falls. The bar chart follows one prompt, 12+34=, from the base model pi_base (orange) to the trained model (blue): watch the probability mass move onto y*.",
        ],
        setup: "view=sft&task=add&sft_prompts=32&sft_n=8&steps=40&eval_every=5&watch=12%2B34%3D",
        autorun: true,
        try_this: &["Press Play under the bar chart (or drag the slider) to watch the mass move step by step.", "Set Samples N to 1 and Run: the training answers are now plain samples. Does the model still sharpen?"],
        question: "The training never used the answer key. Where did the training answers come from, and why do they make the model better?",
        answer: "They are the model's own best-of-N winners, chosen by its own log-likelihood. They are better than single samples (step 2) because they are mostly y*, so training on them moves probability onto y*: the model becomes, in one sample, what best-of-N was in N.",
        action: None,
    },
    Step {
        title: "The dark side: a wrong favourite gets amplified",
        text: &[
            "Some prompts are marked: the model's favourite is a systematic mistake. On sums such as 39+42= this model tends to drop the carry and answer 71. Sharpening cannot know that: it makes the model more sure of whatever it already prefers.",
            "This run is the same as the last one, but the bar chart follows the first training prompt whose y* is wrong. Watch its wrong answer grow, the dashed orange line (accuracy on marked prompts) fall towards 0, and the table of amplified errors under the charts.",
        ],
        setup: "view=sft&task=add&sft_prompts=32&sft_n=8&steps=40&eval_every=5",
        autorun: true,
        try_this: &["Press Play and follow the wrong answer's bar.", "Read the table of amplified errors: how large did pi(y*) get on each?"],
        question: "Sharpening raised pi(y*) on every prompt. Did it raise accuracy on every prompt? What does that say about self-improvement?",
        answer: "No. Where y* is right, accuracy rises with pi(y*); where y* is wrong (the marked prompts) accuracy falls to about 0: the model becomes confidently wrong. Sharpening only concentrates what the model already believes; it cannot fix a systematic error without outside information.",
        action: None,
    },
    Step {
        title: "RLHF-Sharpening and its closed form",
        text: &[
            "Instead of copying winners, RLHF-Sharpening trains the model to prefer answers with a higher self-reward, with a penalty for moving too far from pi_base. The penalty's weight is beta, and the distance is the KL divergence, measured in nats.",
            "Its best possible model is known exactly, the closed form: pi*_beta is proportional to pi_base^(1+1/beta). With beta = 0.5 that is pi_base cubed, renormalised. The green bars show it for the watched prompt; the blue bars are the model being trained, drawn from pairs of its own samples (Eq. 8), moving towards them. The line KL(pi || pi*_beta) measures how far it still is.",
        ],
        setup: "view=rlhf&task=add&rlhf_prompts=16&rlhf_steps=60&pairs=16&beta=0.5&eval_every=10",
        autorun: true,
        try_this: &["Set beta to 5 and Run: how different are the green bars from the orange ones now?", "Press Play and watch the blue bars approach the green ones."],
        question: "What happens to pi*_beta when beta is very small? When it is very large?",
        answer: "The exponent 1 + 1/beta grows without bound as beta goes to 0, so all the mass goes to y*: full sharpening. As beta grows the exponent goes to 1 and pi*_beta becomes pi_base: nothing changes. Beta sets how far self-improvement may go.",
        action: None,
    },
    Step {
        title: "Why lowering the temperature is not the same",
        text: &[
            "Raising pi_base to a power is like lowering a temperature, applied to whole answers. The familiar temperature knob of a chatbot works differently: it sharpens each next token separately, renormalising at every step.",
            "This step uses another built-in model, echo: it should write the two digits of the prompt three times (000000 for 00:), but it also often stops early. The single most likely answer, y*, is 0 (about 0.30). Cooling token by token, the first choice (stop after 0, or go on) is decided by the total probability of going on, about 0.70, so token-level sampling ends up on 000000. The closed form compares whole answers and puts most of its mass on 0.",
        ],
        setup: "view=theory&task=echo&beta=0.5&gap_prompts=20",
        autorun: true,
        try_this: &["Compare the green bars (closed form) with the blue bars (token-level temperature) in the chart.", "Set beta to 5: do the two distributions come closer?"],
        question: "Token-level temperature 1/3 puts 0.70 on 000000, while the closed form puts 0.53 on the answer 0 (both exact). Why does the order of the two answers flip?",
        answer: "Token-level sampling decides one token at a time: after the first 0 it compares stopping (0.30) with going on (0.70) and, cooled, almost always goes on. The closed form compares complete answers: 0 is the single most likely answer (0.30 against 0.25 for 000000), so cubing makes it the clear winner. Sharpening is about whole answers; temperature is about tokens.",
        action: None,
    },
    Step {
        title: "Judging is easier than writing: the generation-verification gap",
        text: &[
            "Self-improvement works only if the model is better at judging answers than at writing them: otherwise its self-reward would pick no better than chance. This gap can be measured.",
            "Here the model is asked, for each of its answers, whether the answer is right (the self_verify self-reward). The table gives the accuracy of a single sample, how well the model's own verdict separates right from wrong answers (the AUC: 0.5 = chance, 1 = perfect) and the accuracy when answers are reweighted by that verdict.",
        ],
        setup: "view=theory&task=add&prompt=19%2B27%3D&gap_prompts=50&scan=50",
        autorun: true,
        try_this: &["Read the gap: how much does reweighting by the model's verdict improve on a single sample?", "Open the Model panel, change the Task to mul (times tables) and Run: is the gap larger or smaller?"],
        question: "The verifier's AUC is 0.63 here (exact, over 50 prompts). What would an AUC of 0.5 mean for self-improvement with self_verify?",
        answer: "AUC 0.5 means the model's verdict ranks a right answer above a wrong one no more often than a coin would: selecting or training by it would not improve accuracy at all. An AUC of 0.63 is a real but small edge, so reweighting gains only a few points here; the log-likelihood self-reward (step 2) does much better on this model.",
        action: None,
    },
    Step {
        title: "Coverage: when the favourite is rare",
        text: &[
            "Best-of-N and SFT-Sharpening must first see y* among samples from pi_base. If pi_base(y*) is tiny they need about C_cov samples, the coverage coefficient: the average of 1 / pi_base(y*). This is coverage: you cannot pick what you never drew.",
            "The paper's Example J.1 is built so that y* is reachable step by step but rare: with answers of d = 10 bits, C_cov is 421 and best-of-N needs N = 968 (both exact) to be right nine times in ten. Alg. 1 explores: it keeps drawing from the model it trains, which drifts towards y* one step at a time. The chart shows pi(y*) against the number of samples for each method (exact).",
        ],
        setup: "view=coverage&cov_on=j1&cov_structure=lock&cov_d=10",
        autorun: true,
        try_this: &["Find the sample count at which each curve first crosses 1 \u{2212} delta.", "Set J.1: Answer length d to 12 and Run: which methods still get there?"],
        question: "C_cov grows like 2^d / e. About how many samples would best-of-N need with d = 20 instead of 10, and why does exploration escape this?",
        answer: "2^20 / e is about 386,000, a thousand times more than for d = 10: coverage costs grow exponentially with the answer length. Exploration does not wait to see y* by luck: each round the model it trains gives the next step towards y* a little more probability, so the samples it draws find y* with far fewer draws.",
        action: None,
    },
    Step {
        title: "A real model does the same",
        text: &[
            "Everything so far ran on tiny models whose answers can all be listed, so every probability was exact. A real language model, SmolLM2-135M-Instruct (135 million parameters), answers in free text: there are far too many answers to list, so its numbers are estimates from samples, shown with their sample size and 95% interval.",
            "The button below downloads the model from Hugging Face (about 270 MB, kept in this browser for the next visit) and switches to arithmetic questions in words. Then press Run: best-of-N by the model's own log-likelihood against single samples. Each answer takes about a second here, so the run takes a few minutes.",
        ],
        setup: "view=bon&task=add&n=1,4,8&prompts=10&rewards=loglik,loglik_norm",
        autorun: false,
        try_this: &["Load SmolLM2 and press Run: does best-of-N beat a single sample on the real model too?", "Leave the lesson and open the SFT-Sharpening tab: on a real model it trains small LoRA adapters instead of every weight."],
        question: "Why are the real model's numbers estimates with intervals, while the built-in models' numbers were exact?",
        answer: "A built-in model's answers are a few characters long, so every possible answer can be listed with its probability and the sums are exact. A real model's answers are sentences: the number of possible answers is astronomically large, so probabilities and accuracies can only be estimated from a finite number of samples, and the interval says how uncertain each estimate is.",
        action: Some(("Load SmolLM2-135M (about 270 MB)", "task=arithmetic&model=https%3A%2F%2Fhuggingface.co%2FHuggingFaceTB%2FSmolLM2-135M-Instruct%2Fresolve%2Fmain%2F")),
    },
];
