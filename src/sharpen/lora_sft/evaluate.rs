//! What amortisation means, measured on a list of prompts (arXiv 2412.01951,
//! Section 5.2): a single sample's accuracy (an estimate from `samples`
//! draws, 95% Wilson interval), greedy accuracy (exact for these prompts),
//! the mean `log pi(y|x)` of the fresh samples, the share cut off at the
//! token budget, and the base model's best-of-N accuracy at the dataset's N —
//! the ceiling the fine-tuned single sample is amortising.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{Llama, Model};
use crate::reward::Judged;
use crate::rng::Stream;
use crate::sample::{sample_batch, SampleSettings};
use crate::sharpen::metrics::{mean, wilson_interval};

use super::LoraParams;
use crate::tasks::{is_correct, Problem, Task};

/// One model on one list of prompts.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoraEval {
    /// Share of the fresh samples that are correct (estimate).
    pub sample_accuracy: f64,
    /// 95% Wilson interval of `sample_accuracy` over its `samples`.
    pub sample_accuracy_ci: [f64; 2],
    /// Fresh samples drawn (prompts x samples per prompt).
    pub samples: usize,
    /// Share of prompts whose greedy answer is correct (exact).
    pub greedy_accuracy: f64,
    /// Mean `log pi(y|x)` of the fresh samples under the model that drew
    /// them (`</s>` included when they finished), nats.
    pub sample_logp: f64,
    /// Share of the fresh and greedy answers cut off at the token budget.
    pub cut_off: f64,
    /// Mean `log pi(y^BoN|x)` of the training answers (exact; training
    /// prompts only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_logp: Option<f64>,
}

/// Best-of-N accuracy of the base model on a list of prompts.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Ceiling {
    /// Share of prompts whose best-of-N answer is correct (estimate: N fresh
    /// samples per prompt).
    pub accuracy: f64,
    /// 95% Wilson interval over the prompts.
    pub ci: [f64; 2],
    pub prompts: usize,
    pub n: usize,
    /// Share of all N x prompts samples cut off at the token budget.
    pub cut_off: f64,
}

/// Before and after training, with the ceiling, on one split.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Amortisation {
    pub prompts: usize,
    pub before: LoraEval,
    pub after: LoraEval,
    pub bon_ceiling: Ceiling,
}

/// A prompt of the run: its problem, its token ids and its index among all
/// the run's prompts (training then evaluation), which keys its streams.
pub struct Prompt {
    pub problem: Problem,
    pub ids: Vec<u32>,
    pub index: u64,
}

/// Best-of-N (`p.n` samples, `p.reward`) on each prompt with the base
/// model: the winners and the ceiling they make. Samples come from streams
/// `Sample {index, j}`.
pub fn best_of_n(base: &Model, task: &dyn Task, prompts: &[Prompt], p: &LoraParams, progress: &mut dyn FnMut() -> bool) -> Result<(Vec<Judged>, Ceiling)> {
    let n = p.n;
    let (mut winners, mut cut) = (Vec::new(), 0usize);
    for q in prompts {
        if !progress() {
            return Err(Error::Cancelled);
        }
        let (w, c) = crate::sharpen::sft::bon_pick(base, task, &q.problem, &q.ids, p.n, p.reward, &p.sampling, p.seed, q.index)?;
        cut += c;
        winners.push(w);
    }
    let right = winners.iter().filter(|w| w.complete && w.correct).count();
    let ceiling = Ceiling {
        accuracy: right as f64 / prompts.len().max(1) as f64,
        ci: wilson_interval(right, prompts.len()),
        prompts: prompts.len(),
        n,
        cut_off: cut as f64 / (n * prompts.len()).max(1) as f64,
    };
    Ok((winners, ceiling))
}

/// Greedy and `p.eval_samples` fresh samples (streams `EvalSample {index,
/// j}`, the same before and after training) of `model` on each prompt.
pub fn evaluate(model: &Llama, tok: &crate::model::Tok, task: &dyn Task, prompts: &[Prompt], p: &LoraParams, progress: &mut dyn FnMut() -> bool) -> Result<LoraEval> {
    let (per_prompt, sampling, seed) = (p.eval_samples, &p.sampling, p.seed);
    let greedy_settings = SampleSettings::greedy(sampling.max_new_tokens);
    let (mut greedy, mut right, mut logps, mut cut) = (0usize, 0usize, Vec::new(), 0usize);
    for q in prompts {
        if !progress() {
            return Err(Error::Cancelled);
        }
        let g = &sample_batch(model, &q.ids, tok.eos, &greedy_settings, seed, &Stream::samples(q.index, 1))?[0];
        greedy += usize::from(g.complete && is_correct(tok, task, &q.problem, &g.tokens));
        cut += usize::from(!g.complete);
        let streams: Vec<Stream> = (0..per_prompt as u64).map(|j| Stream::EvalSample { prompt: q.index, sample: j }).collect();
        for s in sample_batch(model, &q.ids, tok.eos, sampling, seed, &streams)? {
            right += usize::from(s.complete && is_correct(tok, task, &q.problem, &s.tokens));
            cut += usize::from(!s.complete);
            logps.push(s.logp);
        }
    }
    let samples = logps.len();
    Ok(LoraEval {
        sample_accuracy: right as f64 / samples.max(1) as f64,
        sample_accuracy_ci: wilson_interval(right, samples),
        samples,
        greedy_accuracy: greedy as f64 / prompts.len().max(1) as f64,
        sample_logp: mean(&logps),
        cut_off: cut as f64 / (samples + prompts.len()).max(1) as f64,
        dataset_logp: None,
    })
}
