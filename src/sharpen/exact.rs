//! Exact answer distributions by enumeration.
//!
//! For a prompt, every answer `y` (tokens then `</s>`) has probability
//! `pi(y|x) = prod_t pi(y_t | x, y_<t)`. We expand the tree of answer prefixes
//! breadth first, keeping a prefix while its probability is at least
//! `threshold` and it is shorter than the task's longest answer. Complete
//! answers at or above the threshold are listed; the mass of every pruned
//! prefix, every complete answer below the threshold and every over-long prefix
//! is added to `leftover`, so `sum(answers) + leftover = 1` up to rounding.
//! Everything derived here (`y*`, `pi(y*)`, entropy, `C_cov`) is exact for the
//! listed answers; the leftover bounds what is not listed.

use serde::Serialize;

use crate::error::{param_err, Result};
use crate::model::Llama;
use crate::sample::SampleSettings;
use crate::score::next_token_logits;

/// One complete answer and its log-probability.
#[derive(Clone, Debug, Serialize)]
pub struct Answer {
    /// Answer tokens, `</s>` excluded.
    pub tokens: Vec<u32>,
    pub logp: f64,
}

/// The enumerated answer distribution of one prompt, most likely first.
#[derive(Clone, Debug, Serialize)]
pub struct Distribution {
    pub answers: Vec<Answer>,
    /// Mass not listed in `answers`.
    pub leftover: f64,
}

impl Distribution {
    /// `y*`: the most likely complete answer (None if nothing was listed).
    pub fn y_star(&self) -> Option<&Answer> {
        self.answers.first()
    }

    /// `pi(y|x)` for a listed answer; 0 for an unlisted one (which has
    /// probability below the threshold).
    pub fn prob(&self, tokens: &[u32]) -> f64 {
        self.answers.iter().find(|a| a.tokens == tokens).map_or(0.0, |a| a.logp.exp())
    }

    /// Listed mass (`1 - leftover` up to rounding).
    pub fn listed_mass(&self) -> f64 {
        self.answers.iter().map(|a| a.logp.exp()).sum()
    }

    /// Total probability of the listed answers satisfying `f`.
    pub fn mass_where(&self, f: impl Fn(&[u32]) -> bool) -> f64 {
        self.answers.iter().filter(|a| f(&a.tokens)).map(|a| a.logp.exp()).sum()
    }

    /// Whether the listing certifies `y*` as the most likely answer: every
    /// unlisted answer has probability at most `leftover`, so `y*` is the
    /// argmax when `leftover < pi(y*)`.
    pub fn certifies_y_star(&self) -> bool {
        self.y_star().is_some_and(|a| self.leftover < a.logp.exp())
    }

    /// `y*_gamma = {y : pi(y|x) >= (1 - gamma) max_y pi(y|x)}` (Def. F.1)
    /// among the listed answers, most likely first; `{y*}` at `gamma = 0`
    /// (with any exact ties).
    pub fn near_argmax(&self, gamma: f64) -> Vec<&Answer> {
        let Some(top) = self.y_star() else { return Vec::new() };
        let cut = top.logp + (1.0 - gamma).ln();
        self.answers.iter().take_while(|a| a.logp >= cut).collect()
    }

    /// Whether the listing holds all of `y*_gamma`: an unlisted answer has
    /// probability at most `leftover`, below the cut `(1 - gamma) pi(y*)`
    /// when `leftover < (1 - gamma) pi(y*)` (at `gamma = 0`, as
    /// `certifies_y_star`).
    pub fn certifies_near_argmax(&self, gamma: f64) -> bool {
        self.y_star().is_some_and(|a| self.leftover < (1.0 - gamma) * a.logp.exp())
    }

    /// Shannon entropy in nats of the listed answers, `-sum pi log pi`.
    pub fn entropy(&self) -> f64 {
        self.answers.iter().map(|a| -a.logp.exp() * a.logp).sum()
    }
}

/// Enumerates the answer distributions of many prompts at once (one batched
/// forward pass per answer length): `pi(y|x)` itself (temperature 1, no
/// truncation).
pub fn enumerate(model: &Llama, prompts: &[Vec<u32>], eos: u32, max_tokens: usize, threshold: f64) -> Result<Vec<Distribution>> {
    let own = SampleSettings { max_new_tokens: max_tokens.saturating_add(1).min(4096), ..SampleSettings::default() };
    enumerate_sampled(model, prompts, eos, max_tokens, threshold, &own)
}

/// [`enumerate`] for the distribution `q` that sampling with `settings`
/// draws from: each next token from [`SampleSettings::token_distribution`]
/// (temperature, top-k, top-p), so `q(y|x) = prod_t q(y_t | x, y_<t)` is
/// exact too. Answers longer than `settings.max_new_tokens - 1` tokens (which
/// sampling cuts off) are not complete answers of `q`: their mass is leftover.
/// With the default settings this is `pi` itself.
pub fn enumerate_sampled(
    model: &Llama,
    prompts: &[Vec<u32>],
    eos: u32,
    max_tokens: usize,
    threshold: f64,
    settings: &SampleSettings,
) -> Result<Vec<Distribution>> {
    settings.validate()?;
    if !(threshold > 0.0 && threshold < 1.0) {
        return param_err(format!("enumeration threshold {threshold} must be in (0, 1)"));
    }
    let max_tokens = max_tokens.min(settings.max_new_tokens - 1);
    let mut dists: Vec<Distribution> =
        prompts.iter().map(|_| Distribution { answers: vec![], leftover: 0.0 }).collect();
    // (prompt index, answer prefix, log-probability of the prefix)
    let mut frontier: Vec<(usize, Vec<u32>, f64)> = (0..prompts.len()).map(|i| (i, vec![], 0.0)).collect();
    let log_thr = threshold.ln();
    for depth in 0..=max_tokens {
        if frontier.is_empty() {
            break;
        }
        let seqs: Vec<Vec<u32>> = frontier.iter().map(|(i, p, _)| [prompts[*i].as_slice(), p].concat()).collect();
        let rows = next_token_logits(model, &seqs)?;
        let mut next = Vec::new();
        for ((i, prefix, lp), row) in frontier.into_iter().zip(rows) {
            for (tok, l) in settings.token_distribution(&row) {
                let total = lp + l;
                if tok == eos {
                    if total >= log_thr {
                        dists[i].answers.push(Answer { tokens: prefix.clone(), logp: total });
                    } else {
                        dists[i].leftover += total.exp();
                    }
                } else if total >= log_thr && depth < max_tokens {
                    let mut p = prefix.clone();
                    p.push(tok);
                    next.push((i, p, total));
                } else {
                    dists[i].leftover += total.exp();
                }
            }
        }
        frontier = next;
    }
    for d in &mut dists {
        d.answers.sort_by(|a, b| b.logp.total_cmp(&a.logp).then(a.tokens.cmp(&b.tokens)));
    }
    Ok(dists)
}
