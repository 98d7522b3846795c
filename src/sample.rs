//! Sampling answers from a model: temperature, top-k and top-p (nucleus)
//! truncation, in batches that share one prefill of the prompt.
//!
//! Every sample also records its log-probability under the model's own
//! untruncated, temperature-1 distribution: when the sampling model is the base
//! model this is the self-reward `log pi_base(y|x)` of Eq. 2, whatever the
//! sampling settings.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use crate::error::{param_err, Result};
use crate::model::llama::log_softmax_row;
use crate::model::{KvCache, Llama};
use crate::rng::{Purpose, Rng};

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

    /// Picks a token from one row of logits given a uniform draw `u` in [0, 1).
    ///
    /// Candidates are ordered by descending probability (ties: lower id first),
    /// truncated by top-k then top-p, renormalised, and `u` is located in their
    /// cumulative distribution — a fixed procedure, so equal logits and `u`
    /// give the same token on every platform. Without truncation the
    /// normaliser is 1 (the log-softmax is already normalised).
    ///
    /// Only as many of the most likely tokens as the draw needs are sorted: a
    /// prefix of 64 (then 8x more, then all); the order of a prefix does not
    /// depend on its length, so the result is the same as a full sort.
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
        // Rank keys: descending logit, then ascending id, packed in a u64 so the
        // sort compares plain integers. Dividing by the temperature and
        // subtracting the log-normaliser are monotone, so this is the order of
        // `logp` (checked against a full sort by `logp` in tests/sampling.rs).
        let keys: Vec<u64> = logits.iter().enumerate().map(|(i, &l)| (u64::from(!ordered_bits(l)) << 32) | i as u64).collect();
        let limit = if self.top_k > 0 { self.top_k.min(n) } else { n };
        let untruncated = limit == n && self.top_p >= 1.0;
        let mut m = 64.min(limit);
        loop {
            let mut sorted = keys.clone();
            if m < n {
                sorted.select_nth_unstable(m - 1);
                sorted.truncate(m);
            }
            sorted.sort_unstable();
            let order: Vec<usize> = sorted.iter().map(|k| (k & 0xFFFF_FFFF) as usize).collect();
            let probs: Vec<f64> = order.iter().map(|&i| logp[i].exp()).collect();
            // Size and mass of the kept set, when this prefix decides them.
            let kept = if untruncated {
                Some((n, 1.0))
            } else {
                let mut cum = 0.0;
                let mut found = None;
                for (k, p) in probs.iter().enumerate().take(limit) {
                    cum += p;
                    if self.top_p < 1.0 && cum >= self.top_p {
                        found = Some((k + 1, cum));
                        break;
                    }
                }
                found.or((m >= limit).then_some((limit, cum)))
            };
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

/// `log_softmax_row(logits, 1.0)[tok]` without building the whole row.
pub fn log_prob_of(logits: &[f32], tok: u32) -> f64 {
    let max = logits.iter().map(|&l| l as f64).fold(f64::NEG_INFINITY, f64::max);
    let lse = max + logits.iter().map(|&l| (l as f64 - max).exp()).sum::<f64>().ln();
    logits[tok as usize] as f64 - lse
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

/// One sampled answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Sample {
    /// Answer tokens, `</s>` excluded.
    pub tokens: Vec<u32>,
    /// Whether the answer ended with `</s>` (otherwise it hit the length limit).
    pub complete: bool,
    /// `log pi(y|x)` under the sampling model at temperature 1 without
    /// truncation, `</s>` included (Eq. 2 when the model is `pi_base`).
    pub logp: f64,
}

impl Sample {
    /// Number of tokens scored in `logp` (answer plus `</s>` when complete).
    pub fn scored_len(&self) -> usize {
        self.tokens.len() + usize::from(self.complete)
    }
}

/// Draws `n` answers to one prompt: the prompt is prefilled once, the cache is
/// fanned out to `n` rows and all rows decode together. Sample `j` uses RNG
/// stream `(seed, Sample, prompt_index, j)`, so it does not depend on `n`.
pub fn sample_batch(
    model: &Llama,
    prompt: &[u32],
    eos: u32,
    n: usize,
    settings: &SampleSettings,
    seed: u64,
    prompt_index: u64,
) -> Result<Vec<Sample>> {
    sample_with(&mut CpuDecode { model, cache: None }, prompt, eos, n, settings, seed, prompt_index)
}

/// What sampling needs from a backend: each row's next-token logits after
/// the prompt, then after each token fed; it also scores (self-verification,
/// per-token log-probabilities) on the same device. The CPU path (candle) is
/// [`CpuDecode`]; the GPU path is `gpu::sample::GpuDecode`.
pub trait Decode: crate::score::Score {
    /// Longest sequence (prompt + answer) the backend decodes.
    fn max_positions(&self) -> usize;
    /// Starts `n` rows on `prompt` (room for `max_len` tokens in all).
    fn start(&mut self, prompt: &[u32], n: usize, max_len: usize) -> Result<Vec<Vec<f32>>>;
    /// Feeds one token per row.
    fn next(&mut self, ids: &[u32]) -> Result<Vec<Vec<f32>>>;
}

/// The CPU path: one forward pass over the prompt, the KV cache fanned out
/// to `n` rows, then one pass per token.
pub struct CpuDecode<'a> {
    pub model: &'a Llama,
    pub cache: Option<KvCache>,
}

impl crate::score::Score for CpuDecode<'_> {
    fn token_logps(&mut self, items: &[crate::score::Scored]) -> Result<Vec<Vec<f64>>> {
        crate::score::token_logps(self.model, items)
    }
}

impl Decode for CpuDecode<'_> {
    fn max_positions(&self) -> usize {
        self.model.config().max_position_embeddings
    }

    fn start(&mut self, prompt: &[u32], n: usize, _max_len: usize) -> Result<Vec<Vec<f32>>> {
        let dev = self.model.device();
        let mut cache = KvCache::new(self.model.config().num_hidden_layers);
        let ids = Tensor::new(prompt, dev)?.unsqueeze(0)?;
        let logits = self.model.forward(&ids, Some(&mut cache))?;
        let last = logits.narrow(1, prompt.len() - 1, 1)?.squeeze(1)?.to_vec2::<f32>()?;
        self.cache = Some(cache.fan_out(n)?);
        Ok(vec![last[0].clone(); n])
    }

    fn next(&mut self, ids: &[u32]) -> Result<Vec<Vec<f32>>> {
        let cache = self.cache.as_mut().ok_or_else(|| crate::error::Error::Other("decoding before start".into()))?;
        let ids = Tensor::new(ids, self.model.device())?.unsqueeze(1)?;
        Ok(self.model.forward(&ids, Some(cache))?.squeeze(1)?.to_vec2::<f32>()?)
    }
}

/// [`sample_batch`] on any backend: the same random stream per row and the
/// same choices given the same logits.
pub fn sample_with(
    dec: &mut dyn Decode,
    prompt: &[u32],
    eos: u32,
    n: usize,
    settings: &SampleSettings,
    seed: u64,
    prompt_index: u64,
) -> Result<Vec<Sample>> {
    let mut s = Sampler::new(prompt.len(), dec.max_positions(), eos, n, settings, seed, prompt_index)?;
    let mut rows = dec.start(prompt, n, s.max_len())?;
    while let Some(next) = s.feed(&rows) {
        rows = dec.next(&next)?;
    }
    Ok(s.finish())
}

/// The sampling loop as a state machine, so a synchronous backend
/// ([`sample_with`]) and an asynchronous one (the browser's GPU path) share
/// it: give it each row's logits, feed the ids it returns, until `None`.
pub struct Sampler {
    settings: SampleSettings,
    eos: u32,
    rngs: Vec<Rng>,
    out: Vec<Sample>,
    max_new: usize,
    prompt_len: usize,
    step: usize,
}

impl Sampler {
    pub fn new(prompt_len: usize, max_positions: usize, eos: u32, n: usize, settings: &SampleSettings, seed: u64, prompt_index: u64) -> Result<Self> {
        settings.validate()?;
        if n == 0 || n > 4096 {
            return param_err(format!("number of samples {n} must be in 1..=4096"));
        }
        if prompt_len == 0 {
            return param_err("empty prompt");
        }
        let max_new = settings.max_new_tokens.min(max_positions.saturating_sub(prompt_len));
        Ok(Self {
            settings: settings.clone(),
            eos,
            rngs: (0..n as u64).map(|j| Rng::new(seed, Purpose::Sample, prompt_index, j)).collect(),
            out: (0..n).map(|_| Sample { tokens: vec![], complete: false, logp: 0.0 }).collect(),
            max_new,
            prompt_len,
            step: 0,
        })
    }

    /// Positions the backend needs: prompt + longest answer.
    pub fn max_len(&self) -> usize {
        self.prompt_len + self.max_new
    }

    /// Draws one token per row from `rows` (each row's next-token logits);
    /// returns the ids to feed next, or `None` when every row is done.
    pub fn feed(&mut self, rows: &[Vec<f32>]) -> Option<Vec<u32>> {
        if self.step >= self.max_new {
            return None;
        }
        let mut next = Vec::with_capacity(self.out.len());
        for (j, s) in self.out.iter_mut().enumerate() {
            // Every row draws one number per step, finished or not, so a row's
            // stream position is its step count.
            let u = self.rngs[j].uniform();
            if s.complete {
                next.push(self.eos);
                continue;
            }
            let (tok, lp) = self.settings.pick_with_logp(&rows[j], u);
            s.logp += lp;
            if tok == self.eos {
                s.complete = true;
            } else {
                s.tokens.push(tok);
            }
            next.push(tok);
        }
        self.step += 1;
        (!self.out.iter().all(|s| s.complete) && self.step < self.max_new).then_some(next)
    }

    pub fn finish(self) -> Vec<Sample> {
        self.out
    }
}
