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

use serde::{Deserialize, Serialize};

use crate::decode::{block_on, on_cpu, Decode, Score};
use crate::error::{param_err, Result};
use crate::model::Llama;
use crate::rng::{Rng, Stream};

mod settings;
pub use settings::{argmax, SampleSettings};

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

/// Draws one answer to one prompt per stream in `streams` on the CPU: the
/// prompt is prefilled once, the cache is fanned out to one row per stream
/// and all rows decode together. Row `j` draws from `streams[j]` of `seed`
/// alone (e.g. `Stream::Sample { prompt, sample: j }`), so a sample does not
/// depend on how many are drawn beside it.
pub fn sample_batch(model: &Llama, prompt: &[u32], eos: u32, settings: &SampleSettings, seed: u64, streams: &[Stream]) -> Result<Vec<Sample>> {
    block_on(sample_on(&mut *on_cpu(model), prompt, eos, settings, seed, streams))
}

/// [`sample_batch`] on any backend: the same random stream per row and the
/// same choices given the same logits. A backend whose logits are not the
/// f32 model's has its complete samples rescored ([`rescore`]).
pub async fn sample_on(dec: &mut dyn Decode, prompt: &[u32], eos: u32, settings: &SampleSettings, seed: u64, streams: &[Stream]) -> Result<Vec<Sample>> {
    let mut s = Sampler::new(prompt.len(), dec.max_positions(), eos, settings, seed, streams)?;
    let mut rows = dec.start(prompt, streams.len(), s.max_len()).await?;
    while let Some(next) = s.feed(&rows) {
        rows = dec.next(&next).await?;
    }
    let mut out = s.finish();
    if !dec.logits_are_exact() {
        rescore(dec, prompt, eos, &mut out).await?;
    }
    Ok(out)
}

/// Sets each complete sample's `logp` to `log pi(y|x)` (`</s>` included) as
/// `scorer` computes it, in one batch, keeping the per-token values in
/// `token_logps`. An answer cut off at the length limit keeps the decoder's
/// own value (every self-reward gives it `-inf`).
pub async fn rescore(scorer: &mut dyn Score, prompt: &[u32], eos: u32, samples: &mut [Sample]) -> Result<()> {
    let answers: Vec<(usize, Vec<u32>)> =
        samples.iter().enumerate().filter(|(_, s)| s.complete).map(|(i, s)| (i, [s.tokens.as_slice(), &[eos]].concat())).collect();
    if answers.is_empty() {
        return Ok(());
    }
    let items: Vec<crate::score::Scored> = answers.iter().map(|(_, c)| crate::score::Scored { prompt, continuation: c }).collect();
    for ((i, _), lps) in answers.iter().zip(scorer.token_logps(&items).await?) {
        samples[*i].logp = lps.iter().sum();
        samples[*i].token_logps = Some(lps);
    }
    Ok(())
}

/// The sampling loop as a state machine (driven by [`sample_on`]): give it
/// each row's logits, feed the ids it returns, until `None`.
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
