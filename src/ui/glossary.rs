//! Every symbol and term the page uses, with a one-line explanation for a
//! first-year student, once: [`TERMS`]. [`gloss`] marks the first place
//! each term appears in a piece of the page's HTML with a tooltip that opens
//! on hover and on keyboard focus (drawn by the style sheet from `data-tip`,
//! so it is not part of the text; screen readers get the glossary's entry
//! as the term's description); [`glossary_html`] is the full list, always
//! on the page, that the lesson links to.

use super::svg::esc;

/// `(term as written on the page, what it means)`, most specific first
/// where one term contains another (`pi(y*)` before `y*`).
pub const TERMS: &[(&str, &str)] = &[
    ("pi(y*)", "the probability the model gives its own favourite answer y*; sharpening pushes it towards 1"),
    ("pi_base", "the model before any sharpening (the base model); the paper writes \u{3c0}_base"),
    ("pi*_beta", "the best model RLHF-Sharpening can reach at a given beta: the closed form pi_base^(1+1/beta), renormalised"),
    ("y*", "the model's own most likely answer to a prompt, y* = argmax pi_base(y|x): its favourite, right or wrong"),
    ("C_cov", "coverage coefficient (Eq. 6): the average of 1 / pi_base(y*), about how many samples it takes to see y* once"),
    ("delta", "how close to 1 pi(y*) must get for a prompt to count as sharpened: pi(y*) \u{2265} 1 \u{2212} delta (Def. 3.1)"),
    ("eps", "the share of prompts allowed to stay unsharpened (Def. 3.1)"),
    ("beta", "the KL weight of RLHF-Sharpening: small beta sharpens more, large beta stays close to pi_base"),
    ("alpha", "the optimism weight of Alg. 1: how strongly training is pushed to explore answers the base model rarely gives"),
    ("gamma", "approximate sharpening (Def. F.1): every answer within a factor 1 \u{2212} gamma of y*'s probability counts as y*"),
    ("KL", "Kullback-Leibler divergence: how far one distribution is from another, in nats (0 = the same)"),
    ("nats", "the unit of log-probabilities with the natural logarithm (1 nat = 1.44 bits)"),
    ("entropy", "how spread out the answer distribution is, in nats: 0 when one answer has all the probability"),
    ("pass@N", "the share of prompts where at least one of N samples is correct (an answer key picks; an upper bound for best-of-N)"),
    ("best-of-N", "draw N answers and keep the one the self-reward rates highest"),
    ("self-reward", "a score the model gives its own answer without an answer key, e.g. its log-likelihood"),
    ("self-rewards", "scores the model gives its own answers without an answer key: loglik, loglik_norm, majority, self_verify"),
    ("loglik_norm", "self-reward: log pi_base(y|x) divided by the answer's length in tokens"),
    ("loglik", "self-reward: log pi_base(y|x), how likely the model finds its own answer (Eq. 2)"),
    ("log-likelihood", "log pi(y|x): the logarithm of the probability the model gives an answer (0 = certain, more negative = less likely)"),
    ("self_verify", "self-reward: the model is asked whether the answer is right and its probability of \"yes\" is the score"),
    ("majority", "self-reward: the answer given most often among the N samples"),
    ("SFT-Sharpening", "fine-tuning the model on its own best-of-N answers, so it gives them without sampling N (Sec. 3.1)"),
    ("RLHF-Sharpening", "training the model to raise its self-reward while a KL penalty (weight beta) keeps it near pi_base (Eq. 8)"),
    ("SFT", "supervised fine-tuning: training the model to give chosen answers"),
    ("RLHF", "reinforcement learning from a reward; here the reward is the model's own log-likelihood"),
    ("closed form", "the exact answer to RLHF-Sharpening's optimisation: pi_base^(1+1/beta), renormalised"),
    ("marked prompts", "prompts built so that the model's favourite answer y* is a systematic mistake (for add: a dropped carry)"),
    ("marked", "a prompt built so that the model's favourite answer y* is a systematic mistake"),
    ("oracle", "the answer key: used only to grade answers, never to train"),
    ("greedy", "decoding that takes the single most likely token at every step (not always y*)"),
    ("temperature", "sampling setting: below 1 each token's distribution is sharper, above 1 flatter"),
    ("sharpened", "a prompt is sharpened when pi(y*) \u{2265} 1 \u{2212} delta (Def. 3.1)"),
    ("generation-verification gap", "how much better the model is at judging answers than at producing them"),
    ("margin", "how far y* is ahead of the second most likely answer; a small margin needs a small beta"),
    ("coverage", "how likely the base model is to produce y* at all; poor coverage = C_cov large"),
    ("exploration", "training on answers the model being trained produces, so it can find y* without the base model sampling it"),
    ("Alg. 1", "the paper's online RLHF-Sharpening with optimism: it draws from the model it trains and keeps every sample"),
    ("Eq. 8", "the RLHF-Sharpening loss: a squared difference of log-probability ratios over pairs of answers"),
    ("Def. 3.1", "the definition of (eps, delta)-sharpened: pi(y*) \u{2265} 1 \u{2212} delta on all but a share eps of prompts"),
];

/// Tags whose text is never glossed: the charts, code, links, buttons and
/// other interactive elements (a tooltip may not sit inside them).
const SKIP: &[&str] = &["svg", "code", "a", "button", "summary", "label", "option", "select", "textarea", "legend", "figcaption", "dl"];

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The term of [`TERMS`] that starts at byte `i` of `text` on word
/// boundaries (the longest one), if any.
fn term_at(text: &str, i: usize) -> Option<usize> {
    let before = text[..i].chars().next_back();
    if before.is_some_and(is_word) {
        return None;
    }
    TERMS
        .iter()
        .enumerate()
        .filter(|(_, (t, _))| text[i..].starts_with(t))
        .filter(|(_, (t, _))| !(t.ends_with(is_word) && text[i + t.len()..].chars().next().is_some_and(is_word)))
        .max_by_key(|(_, (t, _))| t.len())
        .map(|(k, _)| k)
}

/// The tooltip markup of term `k`, described by its glossary entry.
pub fn term_html(k: usize) -> String {
    let (t, what) = TERMS[k];
    format!("<span class=\"term\" tabindex=\"0\" data-tip=\"{}\" aria-describedby=\"gloss-{k}\">{}</span>", esc(what), esc(t))
}

/// `html` with the first appearance of each term (not yet in `used`) in
/// its text marked with a tooltip; text inside [`SKIP`] elements and
/// inside tags is left alone. `used` carries over between pieces of one page.
pub fn gloss(html: &str, used: &mut Vec<bool>) -> String {
    used.resize(TERMS.len(), false);
    let mut out = String::with_capacity(html.len() + 512);
    let mut skip_depth: Vec<String> = Vec::new();
    let mut rest = html;
    while !rest.is_empty() {
        if rest.starts_with('<') {
            let end = rest.find('>').map_or(rest.len(), |e| e + 1);
            let tag = &rest[..end];
            let name: String = tag.trim_start_matches(['<', '/']).chars().take_while(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
            if SKIP.contains(&name.as_str()) && !tag.ends_with("/>") {
                if tag.starts_with("</") {
                    if skip_depth.last() == Some(&name) {
                        skip_depth.pop();
                    }
                } else {
                    skip_depth.push(name);
                }
            }
            out.push_str(tag);
            rest = &rest[end..];
            continue;
        }
        let end = rest.find('<').unwrap_or(rest.len());
        let text = &rest[..end];
        if skip_depth.is_empty() {
            out.push_str(&gloss_text(text, used));
        } else {
            out.push_str(text);
        }
        rest = &rest[end..];
    }
    out
}

/// One run of text (already escaped HTML, no tags).
fn gloss_text(text: &str, used: &mut [bool]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if let Some(k) = term_at(text, i) {
            let len = TERMS[k].0.len();
            if used[k] {
                out.push_str(&text[i..i + len]);
            } else {
                used[k] = true;
                out.push_str(&term_html(k));
            }
            i += len;
        } else {
            let c = text[i..].chars().next().expect("in bounds");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// The glossary: every term with its explanation, alphabetically.
pub fn glossary_html() -> String {
    let mut terms: Vec<(usize, &(&str, &str))> = TERMS.iter().enumerate().collect();
    terms.sort_by_key(|(_, (t, _))| t.to_ascii_lowercase());
    let items: String = terms.iter().map(|(k, (t, what))| format!("<dt>{}</dt><dd id=\"gloss-{k}\">{}</dd>", esc(t), esc(what))).collect();
    format!("<dl class=\"glossary-list\">{items}</dl>")
}
