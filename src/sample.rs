//! Sampling answers from a model: temperature, top-k and top-p (nucleus)
//! truncation, in batches that share one prefill of the prompt.
//!
//! Every sample also records its log-probability under the model's own
//! untruncated, temperature-1 distribution: when the sampling model is the base
//! model this is the self-reward `log pi_base(y|x)` of Eq. 2, whatever the
//! sampling settings. The model is its weights evaluated in f32 (the CPU's
//! dense path, the reference every backend is checked against): a backend
//! whose logits are an approximation of it — the CPU's 8-bit decoding path of
//! a quantised real model — only *proposes* the answers, and each complete
//! answer's `logp` is then scored on the f32 path ([`rescore`]), so every
//! self-reward is `log pi` of one model whatever decoded it.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use crate::error::{param_err, Result};
use crate::model::llama::log_softmax_row;
use crate::model::{KvCache, Llama};
use crate::rng::{Rng, Stream};

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
/// tests/sampling.rs).
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
    /// Each token's `log pi` (`</s>` included), when [`rescore`] scored the
    /// sample (their sum is `logp`); None otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_logps: Option<Vec<f64>>,
}

impl Sample {
    /// Number of tokens scored in `logp` (answer plus `</s>` when complete).
    pub fn scored_len(&self) -> usize {
        self.tokens.len() + usize::from(self.complete)
    }
}

/// Draws one answer to one prompt per stream in `streams`: the prompt is
/// prefilled once, the cache is fanned out to one row per stream and all rows
/// decode together. Row `j` draws from `streams[j]` of `seed` alone (e.g.
/// `Stream::Sample { prompt, sample: j }`), so a sample does not depend on how
/// many are drawn beside it.
pub fn sample_batch(model: &Llama, prompt: &[u32], eos: u32, settings: &SampleSettings, seed: u64, streams: &[Stream]) -> Result<Vec<Sample>> {
    sample_with(&mut CpuDecode { model, cache: None }, prompt, eos, settings, seed, streams)
}

/// What sampling needs from a backend: each row's next-token logits after
/// the prompt, then after each token fed; it also scores (self-verification,
/// per-token log-probabilities) on the same device. The CPU path (candle) is
/// [`CpuDecode`]; the GPU path is `gpu::sample::GpuDecode`.
pub trait Decode: crate::score::Score {
    /// Longest sequence (prompt + answer) the backend decodes.
    fn max_positions(&self) -> usize;
    /// Whether the logits this backend decodes with are the model's own f32
    /// ones (up to float rounding), so a sample's log-probability from them is
    /// `log pi(y|x)`. False for the CPU's 8-bit decoding path: [`sample_with`]
    /// then rescores every complete sample through [`Score`](crate::score::Score).
    fn logits_are_exact(&self) -> bool {
        true
    }
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

    fn logits_are_exact(&self) -> bool {
        !self.model.decodes_on_q8()
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
pub fn sample_with(dec: &mut dyn Decode, prompt: &[u32], eos: u32, settings: &SampleSettings, seed: u64, streams: &[Stream]) -> Result<Vec<Sample>> {
    let mut s = Sampler::new(prompt.len(), dec.max_positions(), eos, settings, seed, streams)?;
    let mut rows = dec.start(prompt, streams.len(), s.max_len())?;
    while let Some(next) = s.feed(&rows) {
        rows = dec.next(&next)?;
    }
    let mut out = s.finish();
    if !dec.logits_are_exact() {
        rescore(dec, prompt, eos, &mut out)?;
    }
    Ok(out)
}

/// Sets each complete sample's `logp` to `log pi(y|x)` (`</s>` included) as
/// `scorer` computes it, in one batch, keeping the per-token values in
/// `token_logps`. An answer cut off at the length limit keeps the decoder's
/// own value (every self-reward gives it `-inf`).
pub fn rescore(scorer: &mut dyn crate::score::Score, prompt: &[u32], eos: u32, samples: &mut [Sample]) -> Result<()> {
    let answers: Vec<(usize, Vec<u32>)> =
        samples.iter().enumerate().filter(|(_, s)| s.complete).map(|(i, s)| (i, [s.tokens.as_slice(), &[eos]].concat())).collect();
    if answers.is_empty() {
        return Ok(());
    }
    let items: Vec<crate::score::Scored> = answers.iter().map(|(_, c)| crate::score::Scored { prompt, continuation: c }).collect();
    for ((i, _), lps) in answers.iter().zip(scorer.token_logps(&items)?) {
        samples[*i].logp = lps.iter().sum();
        samples[*i].token_logps = Some(lps);
    }
    Ok(())
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
    /// A batch of one row per stream in `streams` (see [`sample_batch`]).
    pub fn new(prompt_len: usize, max_positions: usize, eos: u32, settings: &SampleSettings, seed: u64, streams: &[Stream]) -> Result<Self> {
        settings.validate()?;
        let n = streams.len();
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
            rngs: streams.iter().map(|&st| Rng::new(seed, st)).collect::<Result<_>>()?,
            out: (0..n).map(|_| Sample { tokens: vec![], complete: false, logp: 0.0, token_logps: None }).collect(),
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
