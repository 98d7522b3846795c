//! How each next token is picked: temperature, top-k, then top-p on the
//! distribution renormalised over the top k (Hugging Face transformers' and
//! vLLM's order), from one uniform draw; and the exact per-token distribution
//! that this draws from (for the enumerated sampled distribution `q`).

use serde::{Deserialize, Serialize};

use crate::error::{param_err, Result};
use crate::model::{log_prob_of, log_softmax_row};

/// How to pick each next token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampleSettings {
    /// Softmax temperature; 0 means greedy (argmax, ties to the lower id).
    pub temperature: f64,
    /// Keep only the `k` most likely tokens (0 = no limit).
    pub top_k: usize,
    /// Keep the smallest set of most likely tokens whose mass reaches `p` (1 = no limit).
    pub top_p: f64,
    /// Stop after this many answer tokens even without `</s>`.
    pub max_new_tokens: usize,
}

impl Default for SampleSettings {
    fn default() -> Self {
        Self { temperature: 1.0, top_k: 0, top_p: 1.0, max_new_tokens: 8 }
    }
}

impl SampleSettings {
    pub fn greedy(max_new_tokens: usize) -> Self {
        Self { temperature: 0.0, max_new_tokens, ..Self::default() }
    }

    pub fn validate(&self) -> Result<()> {
        if !(self.temperature.is_finite() && (0.0..=100.0).contains(&self.temperature)) {
            return param_err(format!("temperature {} must be in 0..=100", self.temperature));
        }
        if !(self.top_p.is_finite() && self.top_p > 0.0 && self.top_p <= 1.0) {
            return param_err(format!("top-p {} must be in (0, 1]", self.top_p));
        }
        if self.max_new_tokens == 0 || self.max_new_tokens > 4096 {
            return param_err(format!("max new tokens {} must be in 1..=4096", self.max_new_tokens));
        }
        Ok(())
    }

    /// Whether sampling draws from the model's own distribution: temperature 1,
    /// no top-k or top-p (then the sampled distribution `q` is `pi` itself).
    pub fn is_untruncated_t1(&self) -> bool {
        self.temperature == 1.0 && self.top_k == 0 && self.top_p >= 1.0
    }

    /// The truncation rule, once for [`pick`](Self::pick) and
    /// [`token_distribution`](Self::token_distribution): of candidates sorted
    /// most likely first with probabilities `probs` (softmax at the sampling
    /// temperature; a prefix of the full order), top-k keeps the first `limit`;
    /// top-p then keeps the smallest prefix whose mass *renormalised over the
    /// top k* (`mass_k`: their total; 1 without top-k) reaches `top_p` — the
    /// order and convention of Hugging Face transformers' and vLLM's warpers.
    /// Returns how many are kept and their mass (before renormalising), or
    /// None when `probs` is too short a prefix to decide.
    fn kept(&self, probs: &[f64], limit: usize, mass_k: f64) -> Option<(usize, f64)> {
        let mut cum = 0.0;
        for (k, p) in probs.iter().enumerate().take(limit) {
            cum += p;
            if self.top_p < 1.0 && cum / mass_k >= self.top_p {
                return Some((k + 1, cum));
            }
        }
        (probs.len() >= limit).then_some((limit, cum))
    }

    /// Picks a token from one row of logits given a uniform draw `u` in [0, 1).
    ///
    /// Candidates are ordered by descending probability (ties: lower id first),
    /// truncated by top-k then top-p ([`kept`](Self::kept)), renormalised, and
    /// `u` is located in their cumulative distribution — a fixed procedure, so
    /// equal logits and `u` give the same token on every platform. Without
    /// truncation the normaliser is 1 (the log-softmax is already normalised).
    ///
    /// Only as many of the most likely tokens as the draw needs are sorted: a
    /// prefix of 64 (then 8x more, then all); the order of a prefix does not
    /// depend on its length, so the result is the same as a full sort. With
    /// both top-k and top-p the top k are sorted at once (top-p needs their mass).
    pub fn pick(&self, logits: &[f32], u: f64) -> u32 {
        self.pick_with_logp(logits, u).0
    }

    /// [`pick`](Self::pick), also returning `log pi(token)` at temperature 1
    /// without truncation (`log_prob_of`; reused from the pick's own
    /// log-softmax when the temperature is 1).
    pub fn pick_with_logp(&self, logits: &[f32], u: f64) -> (u32, f64) {
        if self.temperature == 0.0 {
            let t = argmax(logits);
            return (t, log_prob_of(logits, t));
        }
        let logp = log_softmax_row(logits, self.temperature);
        let at_t1 = |t: usize| if self.temperature == 1.0 { logp[t] } else { log_prob_of(logits, t as u32) };
        let n = logp.len();
        let keys = rank_keys(logits);
        let limit = if self.top_k > 0 { self.top_k.min(n) } else { n };
        let untruncated = limit == n && self.top_p >= 1.0;
        let both = self.top_k > 0 && self.top_p < 1.0;
        let mut m = if both { limit } else { 64.min(limit) };
        loop {
            let order = top_order(&keys, m);
            let probs: Vec<f64> = order.iter().map(|&i| logp[i].exp()).collect();
            let mass_k = if both { probs[..limit].iter().sum() } else { 1.0 };
            // Size and mass of the kept set, when this prefix decides them.
            let kept = if untruncated { Some((n, 1.0)) } else { self.kept(&probs, limit, mass_k) };
            if let Some((keep, total)) = kept {
                let target = u * total;
                let mut cum = 0.0;
                for (k, p) in probs.iter().enumerate().take(keep) {
                    cum += p;
                    if target < cum {
                        return (order[k] as u32, at_t1(order[k]));
                    }
                }
                if m >= keep {
                    return (order[keep - 1] as u32, at_t1(order[keep - 1]));
                }
            }
            m = (m * 8).min(limit);
        }
    }

    /// The distribution [`pick`](Self::pick) draws from, exactly: each token it
    /// can return with `log q(token)` (temperature, then top-k, then top-p,
    /// renormalised over the kept tokens); greedy (temperature 0) is the
    /// argmax with probability 1. Untruncated, every token in id order with
    /// `log_softmax_row(logits, temperature)`; truncated, the kept tokens most
    /// likely first. A product of these per-token distributions is the
    /// distribution of whole answers that sampling produces (`exact::enumerate_sampled`).
    pub fn token_distribution(&self, logits: &[f32]) -> Vec<(u32, f64)> {
        if self.temperature == 0.0 {
            return vec![(argmax(logits), 0.0)];
        }
        let logp = log_softmax_row(logits, self.temperature);
        let n = logp.len();
        let limit = if self.top_k > 0 { self.top_k.min(n) } else { n };
        if limit == n && self.top_p >= 1.0 {
            return logp.into_iter().enumerate().map(|(i, l)| (i as u32, l)).collect();
        }
        let order = top_order(&rank_keys(logits), limit);
        let probs: Vec<f64> = order.iter().map(|&i| logp[i].exp()).collect();
        let mass_k = if self.top_k > 0 && self.top_p < 1.0 { probs.iter().sum() } else { 1.0 };
        let (keep, total) = self.kept(&probs, limit, mass_k).unwrap_or((limit, 1.0));
        let log_total = total.ln();
        order[..keep].iter().map(|&i| (i as u32, logp[i] - log_total)).collect()
    }
}

/// Rank keys of a row: descending logit, then ascending id, packed in a u64 so
/// a sort compares plain integers. Dividing by the temperature and
/// subtracting the log-normaliser are monotone, so this is the order of the
/// log-softmax at any temperature (checked against a full sort in
/// tests/suite/sampling.rs).
fn rank_keys(logits: &[f32]) -> Vec<u64> {
    logits.iter().enumerate().map(|(i, &l)| (u64::from(!ordered_bits(l)) << 32) | i as u64).collect()
}

/// The ids of the `m` highest-ranked entries of `keys`, in rank order.
fn top_order(keys: &[u64], m: usize) -> Vec<usize> {
    let mut sorted = keys.to_vec();
    if m < keys.len() {
        sorted.select_nth_unstable(m - 1);
        sorted.truncate(m);
    }
    sorted.sort_unstable();
    sorted.iter().map(|k| (k & 0xFFFF_FFFF) as usize).collect()
}

/// The bits of `x` as a u32 that orders like the float (negative below positive).
fn ordered_bits(x: f32) -> u32 {
    let b = x.to_bits();
    if b >> 31 == 1 {
        !b
    } else {
        b | 0x8000_0000
    }
}


pub fn argmax(row: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best as u32
}
