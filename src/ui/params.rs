//! The page's parameters, declared once: each has a URL key, a label, a kind
//! with its valid range and a default. [`UiState::from_hash`] reads the URL hash
//! (clamping or rejecting bad values with a message, never failing) and
//! [`UiState::to_hash`] writes it back, so a link reproduces what a student
//! sees. `embed=1` hides the page chrome; `<key>_hide=1` hides one control.

use std::collections::{BTreeMap, BTreeSet};

use super::url::{decode, encode};
use crate::app::backend::Backend;
use crate::app::Experiment;

mod normalize;
mod runs;

pub use normalize::{fmt_f64, normalize};

/// Every parameter, by name: a typo is a compile error. `PARAMS[k as usize]`
/// is `k`'s declaration (checked by a test).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    View,
    Lesson,
    Task,
    Backend,
    Model,
    EvalShare,
    Prompt,
    Samples,
    N,
    Prompts,
    Rewards,
    SftPrompts,
    SftN,
    Reward,
    Steps,
    Lr,
    Batch,
    RlhfPrompts,
    Beta,
    Mode,
    Alpha,
    RlhfSteps,
    Pairs,
    RlhfLr,
    EvalEvery,
    Delta,
    Watch,
    GapPrompts,
    Scan,
    EffPrompts,
    SftNs,
    EffSftSteps,
    EffRlhfSteps,
    CxPrompts,
    CxEps,
    CxDelta,
    Gamma,
    CxSftNs,
    CxSftPrompts,
    CxSteps,
    MarginPrompts,
    MarginEps,
    MarginBetas,
    MarginTrainBetas,
    MarginSteps,
    CovOn,
    CovStructure,
    CovD,
    CovBeta,
    CovBudgets,
    CovSftNs,
    CovAlphas,
    CovPrompts,
    CovLmBudgets,
    CovLmSftNs,
    CovSeeds,
    Temperature,
    TopK,
    TopP,
    Seed,
}

impl Key {
    /// The name in the URL and the control's `name`.
    pub fn name(self) -> &'static str {
        PARAMS[self as usize].name
    }
}

#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Choice(&'static [&'static str]),
    /// A subset of the choices, comma-separated in the URL.
    ChoiceSet(&'static [&'static str]),
    Int { min: i64, max: i64 },
    Float { min: f64, max: f64 },
    /// Comma-separated integers, sorted, distinct, at most `len` of them.
    IntList { min: i64, max: i64, len: usize },
    /// Comma-separated numbers, sorted, distinct, at most `len` of them.
    FloatList { min: f64, max: f64, len: usize },
    Text { max_len: usize },
}

#[derive(Clone, Copy, Debug)]
pub struct Param {
    pub key: Key,
    /// The name in the URL.
    pub name: &'static str,
    pub label: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    pub default: &'static str,
    /// Views that show this control.
    pub views: &'static [Experiment],
}

const ALL_VIEWS: &[Experiment] = &Experiment::ALL;
const SAMPLING_VIEWS: &[Experiment] = &[Experiment::Explore, Experiment::Bon, Experiment::Sft, Experiment::Rlhf];
const TRAIN_VIEWS: &[Experiment] = &[Experiment::Sft, Experiment::Rlhf];
const REWARDS: &[&str] = &["loglik", "loglik_norm", "majority", "self_verify"];
const EXPERIMENT_KEYS: [&str; Experiment::ALL.len()] = {
    let mut k = [""; Experiment::ALL.len()];
    let mut i = 0;
    while i < k.len() {
        k[i] = Experiment::ALL[i].key();
        i += 1;
    }
    k
};
const BACKEND_KEYS: [&str; 3] = [Backend::ALL[0].key(), Backend::ALL[1].key(), Backend::ALL[2].key()];

pub const PARAMS: &[Param] = &[
    Param { key: Key::View, name: "view", label: "Experiment", help: "which experiment the page shows", kind: Kind::Choice(&EXPERIMENT_KEYS), default: "explore", views: &[] },
    Param { key: Key::Lesson, name: "lesson", label: "Lesson step", help: "the guided lesson's step (1 to the number of steps; 0 = the lab without the lesson)", kind: Kind::Int { min: 0, max: super::lesson_steps::STEPS.len() as i64 }, default: "0", views: &[] },
    Param { key: Key::Task, name: "task", label: "Task", help: "add = two-digit addition, mul = times tables, lock = a combination lock whose y* is rare (C_cov in the hundreds), echo = answers of different lengths (total and length-normalised log-likelihood disagree) (built-in models); arithmetic (sums), capitals, counting = question sets for a real model, each with a fixed 30% held out for evaluation; custom = your own JSONL question set (choose its file below; lines may carry a split, train or eval; the rest are split 70/30 by the hash of their text)", kind: Kind::Choice(&["add", "mul", "lock", "echo", "arithmetic", "capitals", "counting", "custom"]), default: "add", views: ALL_VIEWS },
    Param { key: Key::Backend, name: "backend", label: "Backend", help: "where the explorer and best-of-N sample and score: auto = the GPU (WebGPU) for a real model on a hardware adapter, else the CPU; cpu; gpu = the GPU even on a software adapter (falls back to the CPU with a notice when there is none)", kind: Kind::Choice(&BACKEND_KEYS), default: "auto", views: ALL_VIEWS },
    Param { key: Key::Model, name: "model", label: "Model URL (GGUF, or a Hugging Face folder ending in /)", help: "address of a Llama-family GGUF file, or of a Hugging Face model folder ending in / (config.json, model.safetensors, tokenizer.json, tokenizer_config.json), to download and keep in this browser (empty: the task's built-in model); or choose files from this computer", kind: Kind::Text { max_len: 400 }, default: "", views: ALL_VIEWS },
    Param { key: Key::EvalShare, name: "eval_share", label: "Held-out share of your set", help: "task custom: the share of your prompt set's lines without a split of their own that is held out for evaluation (chosen by the hash of each prompt); not used when a second file gives the evaluation prompts", kind: Kind::Float { min: 0.05, max: 0.95 }, default: "0.3", views: ALL_VIEWS },
    Param { key: Key::Prompt, name: "prompt", label: "Prompt", help: "a prompt of the task, e.g. 19+23= (empty: the task's first prompt)", kind: Kind::Text { max_len: 200 }, default: "", views: &[Experiment::Explore, Experiment::Theory] },
    Param { key: Key::Samples, name: "samples", label: "Samples N", help: "how many answers to sample for this prompt", kind: Kind::Int { min: 1, max: 256 }, default: "16", views: &[Experiment::Explore] },
    Param { key: Key::N, name: "n", label: "N values", help: "comma-separated sample counts for best-of-N, e.g. 1,4,16,64", kind: Kind::IntList { min: 1, max: 1024, len: 8 }, default: "1,4,16,64", views: &[Experiment::Bon] },
    Param { key: Key::Prompts, name: "prompts", label: "Prompts", help: "number of prompts in the sweep", kind: Kind::Int { min: 1, max: 400 }, default: "100", views: &[Experiment::Bon] },
    Param { key: Key::Rewards, name: "rewards", label: "Self-rewards", help: "which self-rewards best-of-N selects with", kind: Kind::ChoiceSet(REWARDS), default: "loglik,loglik_norm,majority,self_verify", views: &[Experiment::Bon] },
    Param { key: Key::SftPrompts, name: "sft_prompts", label: "Prompts", help: "prompts in the best-of-N training set", kind: Kind::Int { min: 1, max: 400 }, default: "64", views: &[Experiment::Sft] },
    Param { key: Key::SftN, name: "sft_n", label: "Samples N", help: "samples per prompt; the best by the self-reward becomes the training answer", kind: Kind::Int { min: 1, max: 256 }, default: "16", views: &[Experiment::Sft] },
    Param { key: Key::Reward, name: "reward", label: "Self-reward", help: "the self-reward that picks each prompt's training answer", kind: Kind::Choice(REWARDS), default: "loglik", views: &[Experiment::Sft] },
    Param { key: Key::Steps, name: "steps", label: "Steps", help: "AdamW steps", kind: Kind::Int { min: 0, max: 2000 }, default: "200", views: &[Experiment::Sft] },
    Param { key: Key::Lr, name: "lr", label: "Learning rate", help: "AdamW learning rate (built-in models: at step 1, decaying to 0 on a cosine)", kind: Kind::Float { min: 1e-5, max: 0.1 }, default: "0.001", views: &[Experiment::Sft] },
    Param { key: Key::Batch, name: "batch", label: "Batch", help: "examples per step", kind: Kind::Int { min: 1, max: 256 }, default: "16", views: &[Experiment::Sft] },
    Param { key: Key::RlhfPrompts, name: "rlhf_prompts", label: "Prompts", help: "prompts RLHF-Sharpening draws its pairs for", kind: Kind::Int { min: 1, max: 400 }, default: "64", views: &[Experiment::Rlhf] },
    Param { key: Key::Beta, name: "beta", label: "beta (KL weight)", help: "the optimum is pi_base^(1+1/beta): small beta sharpens more", kind: Kind::Float { min: 0.01, max: 100.0 }, default: "1", views: &[Experiment::Rlhf, Experiment::Theory, Experiment::Efficiency] },
    Param { key: Key::Mode, name: "mode", label: "Variant", help: "offline: pairs from pi_base (Eq. 8); online: y from the current model, y' from pi_base, with optimism: a one-step approximation of Alg. 1 (fresh pairs each step, no growing dataset)", kind: Kind::Choice(&["offline", "online"]), default: "offline", views: &[Experiment::Rlhf] },
    Param { key: Key::Alpha, name: "alpha", label: "alpha (optimism)", help: "online only: weight of the exploration term alpha log pi(y'), on the paper's scale; 0 = no exploration", kind: Kind::Float { min: 0.0, max: 10.0 }, default: "0", views: &[Experiment::Rlhf] },
    Param { key: Key::RlhfSteps, name: "rlhf_steps", label: "Steps", help: "AdamW steps (learning rate decays to 0 on a cosine)", kind: Kind::Int { min: 0, max: 2000 }, default: "200", views: &[Experiment::Rlhf] },
    Param { key: Key::Pairs, name: "pairs", label: "Pairs per step", help: "pairs (y, y') drawn per step", kind: Kind::Int { min: 1, max: 256 }, default: "32", views: &[Experiment::Rlhf] },
    Param { key: Key::RlhfLr, name: "rlhf_lr", label: "Learning rate", help: "peak AdamW learning rate", kind: Kind::Float { min: 1e-5, max: 0.1 }, default: "0.001", views: &[Experiment::Rlhf] },
    Param { key: Key::EvalEvery, name: "eval_every", label: "Evaluate every", help: "steps between exact evaluations", kind: Kind::Int { min: 1, max: 200 }, default: "10", views: TRAIN_VIEWS },
    Param { key: Key::Delta, name: "delta", label: "delta (Def. 3.1)", help: "a prompt counts as sharpened when pi(y*) >= 1 - delta", kind: Kind::Float { min: 0.01, max: 0.5 }, default: "0.1", views: &[Experiment::Sft, Experiment::Rlhf, Experiment::Margin, Experiment::Coverage] },
    Param { key: Key::Watch, name: "watch", label: "Watched prompt", help: "prompt whose answer distribution the page follows (empty: the first training prompt whose y* is wrong)", kind: Kind::Text { max_len: 24 }, default: "", views: TRAIN_VIEWS },
    Param { key: Key::GapPrompts, name: "gap_prompts", label: "Gap prompts", help: "prompts for the generation-verification gap", kind: Kind::Int { min: 1, max: 400 }, default: "200", views: &[Experiment::Theory] },
    Param { key: Key::Scan, name: "scan", label: "Prompts scanned", help: "the task's first prompts on which token-level temperature is compared with the closed form and greedy decoding with y* (the CLI's --scan)", kind: Kind::Int { min: 1, max: 400 }, default: "400", views: &[Experiment::Theory] },
    Param { key: Key::EffPrompts, name: "eff_prompts", label: "Prompts", help: "prompts shared by every run", kind: Kind::Int { min: 1, max: 200 }, default: "32", views: &[Experiment::Efficiency] },
    Param { key: Key::SftNs, name: "sft_ns", label: "SFT sample counts N", help: "one SFT-Sharpening run per N", kind: Kind::IntList { min: 1, max: 256, len: 6 }, default: "1,2,4,8,16", views: &[Experiment::Efficiency] },
    Param { key: Key::EffSftSteps, name: "eff_sft_steps", label: "SFT steps", help: "steps of each SFT run", kind: Kind::Int { min: 1, max: 1000 }, default: "100", views: &[Experiment::Efficiency] },
    Param { key: Key::EffRlhfSteps, name: "eff_rlhf_steps", label: "RLHF steps", help: "steps of the RLHF run (N = 2 per pair)", kind: Kind::Int { min: 1, max: 1000 }, default: "150", views: &[Experiment::Efficiency] },
    Param { key: Key::CxPrompts, name: "cx_prompts", label: "Evaluation prompts", help: "prompts x ~ mu on which (eps, delta)-sharpening is judged (SFT trains on other prompts)", kind: Kind::Int { min: 4, max: 400 }, default: "64", views: &[Experiment::Complexity] },
    Param { key: Key::CxEps, name: "cx_eps", label: "eps values", help: "share of prompts allowed to stay unsharpened (Def. 3.1), comma-separated", kind: Kind::FloatList { min: 0.01, max: 0.9, len: 8 }, default: "0.05,0.1,0.2,0.3", views: &[Experiment::Complexity] },
    Param { key: Key::CxDelta, name: "cx_delta", label: "delta values", help: "a prompt is sharpened when pi(y*) >= 1 - delta (Def. 3.1), comma-separated", kind: Kind::FloatList { min: 0.01, max: 0.9, len: 8 }, default: "0.05,0.1,0.2,0.3", views: &[Experiment::Complexity] },
    Param { key: Key::Gamma, name: "gamma", label: "gamma (Def. F.1)", help: "approximate sharpening: mass on y*_gamma = every answer with pi_base(y) >= (1 - gamma) pi_base(y*); 0 = y* itself", kind: Kind::Float { min: 0.0, max: 0.99 }, default: "0", views: &[Experiment::Sft, Experiment::Rlhf, Experiment::Efficiency, Experiment::Complexity] },
    Param { key: Key::CxSftNs, name: "cx_sft_ns", label: "SFT sample counts N", help: "the SFT grid's samples per prompt", kind: Kind::IntList { min: 1, max: 256, len: 6 }, default: "1,4,16", views: &[Experiment::Complexity] },
    Param { key: Key::CxSftPrompts, name: "cx_sft_prompts", label: "SFT prompt counts n", help: "the SFT grid's training prompts (apart from the evaluation prompts)", kind: Kind::IntList { min: 1, max: 1000, len: 6 }, default: "16,64,256", views: &[Experiment::Complexity] },
    Param { key: Key::CxSteps, name: "cx_steps", label: "SFT steps", help: "AdamW steps of each SFT run of the grid", kind: Kind::Int { min: 1, max: 2000 }, default: "200", views: &[Experiment::Complexity] },
    Param { key: Key::MarginPrompts, name: "margin_prompts", label: "Prompts", help: "prompts whose margins and closed forms are computed (and RLHF trains on)", kind: Kind::Int { min: 1, max: 400 }, default: "64", views: &[Experiment::Margin] },
    Param { key: Key::MarginEps, name: "margin_eps", label: "eps (Def. 3.1)", help: "share of prompts allowed to stay unsharpened", kind: Kind::Float { min: 0.01, max: 0.9 }, default: "0.1", views: &[Experiment::Margin] },
    Param { key: Key::MarginBetas, name: "margin_betas", label: "beta sweep", help: "the closed form pi_base^(1+1/beta) at each of these beta, comma-separated", kind: Kind::FloatList { min: 0.01, max: 100.0, len: 12 }, default: "0.01,0.02,0.05,0.1,0.2,0.5,1,2,5", views: &[Experiment::Margin] },
    Param { key: Key::MarginTrainBetas, name: "margin_train_betas", label: "RLHF at beta", help: "RLHF-Sharpening (Eq. 8) is trained once at each of these beta", kind: Kind::FloatList { min: 0.01, max: 100.0, len: 6 }, default: "0.1,1", views: &[Experiment::Margin] },
    Param { key: Key::MarginSteps, name: "margin_steps", label: "RLHF steps", help: "steps of each RLHF run (0 = the closed form only)", kind: Kind::Int { min: 0, max: 1000 }, default: "150", views: &[Experiment::Margin] },
    Param { key: Key::CovOn, name: "cov_on", label: "Run on", help: "j1 = Example J.1's linear-softmax class (its own small models; the Features, d, budgets and SFT N below); model = the task's transformer (choose Task lock for low coverage; the Prompts, samples per prompt and SFT N per prompt below)", kind: Kind::Choice(&["j1", "model"]), default: "j1", views: &[Experiment::Coverage] },
    Param { key: Key::CovStructure, name: "cov_structure", label: "J.1: Features", help: "lock: phi(y) = one-hot of how many leading tokens y shares with y* (y* reachable step by step, rare under pi_base); cube: phi(y) = y, Example J.1 as stated", kind: Kind::Choice(&["lock", "cube"]), default: "lock", views: &[Experiment::Coverage] },
    Param { key: Key::CovD, name: "cov_d", label: "J.1: Answer length d", help: "d binary tokens: 2^d answers, C_cov about 2^d / e", kind: Kind::Int { min: 2, max: 12 }, default: "10", views: &[Experiment::Coverage] },
    Param { key: Key::CovBeta, name: "cov_beta", label: "beta (KL weight)", help: "the closed form is pi_base^(1+1/beta)", kind: Kind::Float { min: 0.001, max: 10.0 }, default: "0.05", views: &[Experiment::Coverage] },
    Param { key: Key::CovBudgets, name: "cov_budgets", label: "J.1: Sample budgets", help: "numbers of samples at which every method is measured", kind: Kind::IntList { min: 2, max: 8192, len: 10 }, default: "8,32,128,512,2048", views: &[Experiment::Coverage] },
    Param { key: Key::CovSftNs, name: "cov_sft_ns", label: "J.1: SFT sample counts N", help: "one SFT-Sharpening curve per N", kind: Kind::IntList { min: 1, max: 8192, len: 8 }, default: "1,4,16,64,256", views: &[Experiment::Coverage] },
    Param { key: Key::CovAlphas, name: "cov_alphas", label: "alpha (optimism)", help: "per alpha: Alg. 1, and its variants (J.1: one-step; transformer: y from pi_base, fresh triples only)", kind: Kind::FloatList { min: 0.0, max: 10.0, len: 6 }, default: "0,0.01,0.1", views: &[Experiment::Coverage] },
    Param { key: Key::CovPrompts, name: "cov_prompts", label: "Transformer: Prompts", help: "prompts every method trains on and is judged on", kind: Kind::Int { min: 1, max: 256 }, default: "16", views: &[Experiment::Coverage] },
    Param { key: Key::CovLmBudgets, name: "cov_lm_budgets", label: "Transformer: samples per prompt", help: "per-prompt sample budgets at which every method is measured", kind: Kind::IntList { min: 2, max: 256, len: 8 }, default: "2,8,32", views: &[Experiment::Coverage] },
    Param { key: Key::CovLmSftNs, name: "cov_lm_sft_ns", label: "Transformer: SFT N", help: "one SFT-Sharpening curve per N (samples per best-of-N draw)", kind: Kind::IntList { min: 1, max: 256, len: 6 }, default: "1,4,16", views: &[Experiment::Coverage] },
    Param { key: Key::CovSeeds, name: "cov_seeds", label: "Transformer: seeds", help: "runs of every method, each with its own draws; each point is their mean", kind: Kind::Int { min: 1, max: 10 }, default: "3", views: &[Experiment::Coverage] },
    Param { key: Key::Temperature, name: "temperature", label: "Temperature", help: "sampling temperature (0 = greedy)", kind: Kind::Float { min: 0.0, max: 10.0 }, default: "1", views: SAMPLING_VIEWS },
    Param { key: Key::TopK, name: "top_k", label: "Top-k", help: "keep the k most likely tokens (0 = all)", kind: Kind::Int { min: 0, max: 1000 }, default: "0", views: SAMPLING_VIEWS },
    Param { key: Key::TopP, name: "top_p", label: "Top-p", help: "keep the most likely tokens up to this mass (1 = all)", kind: Kind::Float { min: 0.01, max: 1.0 }, default: "1", views: SAMPLING_VIEWS },
    Param { key: Key::Seed, name: "seed", label: "Seed", help: "random seed: the same seed gives the same numbers", kind: Kind::Int { min: 0, max: 4_294_967_295 }, default: "0", views: ALL_VIEWS },
];

/// The parameter a URL or control names.
pub fn param_named(name: &str) -> Option<&'static Param> {
    PARAMS.iter().find(|p| p.name == name)
}

pub fn param(key: Key) -> &'static Param {
    &PARAMS[key as usize]
}

/// The page's parameters, each held in canonical text form.
#[derive(Clone, Debug, PartialEq)]
pub struct UiState {
    values: BTreeMap<Key, String>,
    pub embed: bool,
    pub hidden: BTreeSet<Key>,
}

impl Default for UiState {
    fn default() -> Self {
        Self { values: PARAMS.iter().map(|p| (p.key, p.default.to_string())).collect(), embed: false, hidden: BTreeSet::new() }
    }
}

impl UiState {
    /// Reads a URL hash (`#k=v&k=v`, leading `#` optional). Never fails:
    /// every problem becomes a message and the value falls back or is clamped.
    pub fn from_hash(hash: &str) -> (Self, Vec<String>) {
        // A lesson step's settings come first; the link's own values override them.
        let mut probe = Self::default();
        probe.apply(hash);
        let mut s = Self::for_lesson(probe.lesson());
        let msgs = s.apply(hash);
        (s, msgs)
    }

    /// Applies URL-style settings (`k=v&k=v`, leading `#` optional) over
    /// this state; the messages say what was changed or ignored.
    pub fn apply(&mut self, settings: &str) -> Vec<String> {
        let mut msgs = Vec::new();
        for part in settings.trim_start_matches('#').split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, "1"));
            let (Some(k), Some(v)) = (decode(k), decode(v)) else {
                msgs.push(format!("ignored a malformed URL parameter {part:?}"));
                continue;
            };
            if k == "embed" {
                self.embed = v == "1" || v == "true";
            } else if let Some(base) = k.strip_suffix("_hide") {
                match param_named(base) {
                    Some(p) if v == "1" || v == "true" => {
                        self.hidden.insert(p.key);
                    }
                    Some(_) => {}
                    None => msgs.push(format!("ignored unknown parameter {k:?}")),
                }
            } else if let Some(p) = param_named(&k) {
                let (canon, msg) = normalize(p, &v);
                msgs.extend(msg);
                self.values.insert(p.key, canon);
            } else {
                msgs.push(format!("ignored unknown parameter {k:?}"));
            }
        }
        msgs
    }

    /// The URL hash (without `#`) for this state: every parameter, then the
    /// embedding flags.
    pub fn to_hash(&self) -> String {
        let mut parts: Vec<String> = PARAMS.iter().map(|p| format!("{}={}", p.name, encode(self.get(p.key)))).collect();
        if self.embed {
            parts.push("embed=1".into());
        }
        parts.extend(self.hidden.iter().map(|k| format!("{}_hide=1", k.name())));
        parts.join("&")
    }

    /// Sets one parameter from user input; the message says what was changed.
    pub fn set(&mut self, key: Key, raw: &str) -> Option<String> {
        let p = param(key);
        let (canon, msg) = normalize(p, raw);
        self.values.insert(p.key, canon);
        msg
    }

    /// The canonical text of a parameter.
    pub fn get(&self, key: Key) -> &str {
        self.values.get(&key).map_or("", String::as_str)
    }

    /// A numeric parameter (its default if it does not parse: a test checks
    /// that every default does).
    pub(crate) fn num<T: std::str::FromStr>(&self, key: Key) -> T {
        self.get(key).parse().ok().or_else(|| param(key).default.parse().ok()).expect("defaults parse")
    }

    pub fn view(&self) -> Experiment {
        Experiment::parse(self.get(Key::View)).unwrap_or(Experiment::Explore)
    }

    pub fn task(&self) -> &str {
        self.get(Key::Task)
    }

    pub fn backend(&self) -> Backend {
        Backend::parse(self.get(Key::Backend)).unwrap_or_default()
    }

    /// Smaller defaults for a real model, whose answers take seconds, not
    /// milliseconds: applied to the parameters still at their built-in
    /// defaults (a value from the link or the user stays). Returns a notice
    /// naming what changed.
    pub fn real_model_defaults(&mut self) -> Option<String> {
        const REAL: [(Key, &str); 7] =
            [(Key::Samples, "8"), (Key::N, "1,4,8"), (Key::Prompts, "10"), (Key::SftPrompts, "8"), (Key::SftN, "4"), (Key::Steps, "10"), (Key::Batch, "2")];
        let mut changed = Vec::new();
        for (key, v) in REAL {
            if self.get(key) == param(key).default {
                self.set(key, v);
                changed.push(format!("{} {v}", key.name()));
            }
        }
        (!changed.is_empty()).then(|| format!("Smaller defaults for a real model (each answer takes about a second here): {}.", changed.join(", ")))
    }

    pub fn seed(&self) -> u64 {
        self.num(Key::Seed)
    }

    pub fn is_hidden(&self, key: Key) -> bool {
        self.hidden.contains(&key)
    }
}
