//! Sampling throughput, measured the same way by `sharpen bench` and by the
//! page's worker (each passes its own clock: `Instant` natively,
//! `performance.now()` in the browser, where `Instant` does not exist).

use crate::decode::{block_on, on_cpu};
use crate::error::Result;
use crate::model::Model;
use crate::rng::Stream;
use crate::sample::{sample_batch, SampleSettings};
use crate::sharpen::bon::choose_problems;
use crate::tasks::Task;

/// Runs `f` once to warm up, then repeatedly for at least `min_secs` (and at
/// least twice); returns the mean seconds of the fastest third of the calls.
pub fn time_fastest(clock: &dyn Fn() -> f64, min_secs: f64, f: &mut dyn FnMut() -> Result<()>) -> Result<f64> {
    f()?;
    let mut times = Vec::new();
    let start = clock();
    while times.len() < 2 || clock() - start < min_secs {
        let t = clock();
        f()?;
        times.push(clock() - t);
    }
    times.sort_by(f64::total_cmp);
    let k = (times.len() / 3).max(1);
    Ok(times[..k].iter().sum::<f64>() / k as f64)
}

/// One sampling measurement.
pub struct SamplingSpeed {
    /// Sampled tokens (`</s>` included) per second.
    pub tokens_per_s: f64,
    /// Sampled tokens per round.
    pub tokens: usize,
    /// Tokens the model processed per round (prompt prefill + decoding).
    pub processed: usize,
    pub seconds_per_round: f64,
}

/// Samples `n` answers for each of 8 fixed prompts of `task` (seed 0) per
/// round; `clock` returns seconds.
pub fn sampling_speed(model: &Model, task: &dyn Task, n: usize, min_secs: f64, clock: &dyn Fn() -> f64) -> Result<SamplingSpeed> {
    let problems = choose_problems(task, 8, 0);
    let prompts = problems.iter().map(|q| model.tok.encode_prompt(&q.prompt)).collect::<Result<Vec<_>>>()?;
    let settings = SampleSettings { max_new_tokens: task.max_answer_tokens() + 1, ..Default::default() };
    let (mut sampled, mut processed) = (0usize, 0usize);
    let t = time_fastest(clock, min_secs, &mut || {
        sampled = 0;
        processed = 0;
        for (i, p) in prompts.iter().enumerate() {
            let s = sample_batch(&model.llama, p, model.tok.eos, &settings, 0, &Stream::samples(i as u64, n))?;
            let steps = s.iter().map(|x| x.scored_len()).max().unwrap_or(0);
            sampled += s.iter().map(|x| x.scored_len()).sum::<usize>();
            processed += p.len() + n * steps.saturating_sub(1);
        }
        Ok(())
    })?;
    Ok(SamplingSpeed { tokens_per_s: sampled as f64 / t, tokens: sampled, processed, seconds_per_round: t })
}

/// Decoding speed on one prompt: `n` rows decode exactly `new_tokens` tokens
/// each (the end-of-text token is ignored, so every run does the same work),
/// sampling at temperature 1 exactly as `sample_batch` does.
pub struct DecodeSpeed {
    /// Seconds for the prompt's prefill alone.
    pub prefill_s: f64,
    /// Decoded tokens per second over all rows, prefill excluded.
    pub tokens_per_s: f64,
}

pub fn decode_speed(model: &Model, prompt: &[u32], n: usize, new_tokens: usize, min_secs: f64, clock: &dyn Fn() -> f64) -> Result<DecodeSpeed> {
    let llama = &model.llama;
    // The prefill on the backend sampling decodes with (one row).
    let prefill_s = time_fastest(clock, min_secs / 4.0, &mut || block_on(on_cpu(llama).start(prompt, 1, prompt.len())).map(|_| ()))?;
    let settings = SampleSettings { max_new_tokens: new_tokens, ..Default::default() };
    let total = time_fastest(clock, min_secs, &mut || sample_batch(llama, prompt, u32::MAX, &settings, 0, &Stream::samples(0, n)).map(|_| ()))?;
    // The first token comes from the prefill's logits: `new_tokens - 1` decoding steps.
    let decoded = n * new_tokens.saturating_sub(1);
    Ok(DecodeSpeed { prefill_s, tokens_per_s: decoded as f64 / (total - prefill_s).max(1e-9) })
}
