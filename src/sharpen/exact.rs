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
use crate::model::llama::log_softmax_row;
use crate::model::Llama;
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

    /// Shannon entropy in nats of the listed answers, `-sum pi log pi`.
    pub fn entropy(&self) -> f64 {
        self.answers.iter().map(|a| -a.logp.exp() * a.logp).sum()
    }
}

/// Enumerates the answer distributions of many prompts at once (one batched
/// forward pass per answer length).
pub fn enumerate(model: &Llama, prompts: &[Vec<u32>], eos: u32, max_tokens: usize, threshold: f64) -> Result<Vec<Distribution>> {
    enumerate_at(model, prompts, eos, max_tokens, threshold, 1.0)
}

/// [`enumerate`] for token-level sampling at `temperature` (each next-token
/// distribution is `softmax(logits / temperature)`): the exact distribution of
/// complete answers that sampling at that temperature produces.
pub fn enumerate_at(
    model: &Llama,
    prompts: &[Vec<u32>],
    eos: u32,
    max_tokens: usize,
    threshold: f64,
    temperature: f64,
) -> Result<Vec<Distribution>> {
    if !(temperature.is_finite() && temperature > 0.0) {
        return param_err(format!("temperature {temperature} must be above 0 for an exact distribution"));
    }
    if !(threshold > 0.0 && threshold < 1.0) {
        return param_err(format!("enumeration threshold {threshold} must be in (0, 1)"));
    }
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
            let logp = log_softmax_row(&row, temperature);
            for (tok, &l) in logp.iter().enumerate() {
                let total = lp + l;
                if tok as u32 == eos {
                    if total >= log_thr {
                        dists[i].answers.push(Answer { tokens: prefix.clone(), logp: total });
                    } else {
                        dists[i].leftover += total.exp();
                    }
                } else if total >= log_thr && depth < max_tokens {
                    let mut p = prefix.clone();
                    p.push(tok as u32);
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
