//! How long one LoRA step takes, and what each of the ways that keep the
//! science buys: measured in one run against the plain step (adapters on
//! every block, logits at every position, candle's matmul gradient), so the
//! ratios compare like with like on the machine at hand. `sharpen bench
//! --lora` prints it; the page's "Measure speed" shows it for a real model.

use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarMap};
use serde::{Deserialize, Serialize};

use super::{adapted, Cached, LoraParams};
use crate::error::Result;
use crate::model::{Llama, Model};
use crate::sharpen::train_step::{nll_loss, step_at, Example};
use crate::tasks::Task;

/// One way of running the step.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StepSpeed {
    pub variant: String,
    /// Mean wall time of a step (forward, backward, AdamW), milliseconds.
    pub ms: f64,
    /// Steps timed.
    pub steps: usize,
    /// `ms` of the plain step divided by this one's.
    pub speedup: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoraSpeed {
    pub batch: usize,
    /// Tokens per example (prompt + answer) and answer tokens per example.
    pub tokens: usize,
    pub answer_tokens: usize,
    /// Blocks adapted in the last variant, of `blocks`.
    pub layers: usize,
    pub blocks: usize,
    pub variants: Vec<StepSpeed>,
}

/// A first step longer than this (seconds) is timed, not discarded as a
/// warm-up: in the page the plain step takes 30-50 s, and a second one would
/// double the benchmark's wait for the same figure.
const WARM_UP_IS_NOISE_S: f64 = 1.0;

/// Times `steps` LoRA steps of each variant (`all`) or of the plain and the
/// fastest only, on a batch of `p.batch` of the task's prompts, each with an
/// `answer_tokens`-token answer (the tokens of the prompt itself, repeated:
/// their values do not change the cost).
pub fn measure(base: &Model, task: &dyn Task, p: &LoraParams, answer_tokens: usize, steps: usize, all: bool, clock: &dyn Fn() -> f64) -> Result<LoraSpeed> {
    p.validate()?;
    let problems = crate::sharpen::bon::choose_problems(task, p.batch, p.seed);
    let mut batch = Vec::new();
    for q in &problems {
        let ids = base.tok.encode_prompt(&q.prompt)?;
        let target: Vec<u32> = ids.iter().cycle().take(answer_tokens.max(1)).copied().collect();
        batch.push(Example { prompt: ids, target });
    }
    while batch.len() < p.batch {
        batch.push(batch[0].clone());
    }
    let blocks = base.llama.config().num_hidden_layers;
    let top = blocks - p.layers.min(blocks);
    let idx: Vec<usize> = (0..batch.len()).collect();
    let mut variants: Vec<StepSpeed> = Vec::new();
    let names = [
        "plain: adapters on every block, logits at every position, candle's matmul gradient",
        "+ frozen weights form only the input's gradient",
        "+ logits only at the answer positions",
        "+ adapters on the top blocks only, the frozen blocks below run once per example",
    ];
    for (k, name) in names.iter().enumerate() {
        if !all && k != 0 && k != names.len() - 1 {
            continue;
        }
        let first = if k == 3 { top } else { 0 };
        let vars = VarMap::new();
        let mut model: Llama = adapted(base, &vars, p, first, true)?;
        model.set_frozen_backward(k > 0);
        let vs = crate::model::bundle::sorted_vars(&vars);
        let mut opt = AdamW::new(vs.clone(), ParamsAdamW { lr: p.lr, weight_decay: 0.0, ..Default::default() })?;
        let cached = if k >= 2 { Some(Cached::new(&base.llama, &batch, first)?) } else { None };
        let (mut total, mut timed, mut s) = (0.0, 0, 0);
        while timed < steps.max(1) {
            let t0 = clock();
            let loss = match &cached {
                Some(c) => c.loss(&model, &idx)?,
                None => nll_loss(&model, &batch)?,
            };
            step_at(s + 1, &mut opt, &vs, &loss, p.clip)?;
            let took = clock() - t0;
            // The first step warms up (its one-off allocations) and is not
            // counted, unless it took over WARM_UP_IS_NOISE_S: then those
            // allocations are under 1% of it and it is the measurement.
            if s > 0 || took > WARM_UP_IS_NOISE_S {
                total += took;
                timed += 1;
            }
            s += 1;
        }
        let ms = total * 1e3 / timed as f64;
        let speedup = variants.first().map_or(1.0, |b| b.ms / ms);
        variants.push(StepSpeed { variant: name.to_string(), ms, steps: timed, speedup });
    }
    Ok(LoraSpeed { batch: p.batch, tokens: batch[0].prompt.len() + batch[0].target.len(), answer_tokens, layers: blocks - top, blocks, variants })
}
