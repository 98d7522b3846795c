//! SFT-Sharpening on a real model with low-rank adapters (arXiv 2412.01951:
//! Eq. 7 and Section 5.2, the amortisation of best-of-N; LoRA: Hu et al.
//! 2021). The base weights stay frozen (dequantised f32); only the adapters
//! `A`, `B` of every projection of the top `layers` blocks are trained, on the
//! best-of-N answers `{(x_i, y_i^BoN)}` a self-reward chooses for the
//! *training* prompts, to maximise `sum_i log pi(y_i^BoN | x_i)`.
//!
//! Amortisation is then measured on prompts held out from training
//! (`tasks::split`), and on the training prompts beside them: single-sample
//! and greedy accuracy, the fresh samples' `log pi(y|x)` and the share cut
//! off, before and after, against the base model's best-of-N at the same N
//! (`evaluate`). The loss is computed only where it changes (`cached`).

use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarBuilder, VarMap};
use serde::{Deserialize, Serialize};

use super::bon::Progress;
use super::metrics::mean;
use super::train_step::{check_training, step_at, Batches, Example};
use crate::error::{check, param_err, Error, Result};
use crate::model::peft::Adapter;
use crate::model::{Llama, Model};
use crate::reward::Reward;
use crate::sample::SampleSettings;
use crate::tasks::{split, Task};

pub mod cached;
mod evaluate;
pub mod speed;
pub use cached::Cached;
pub use evaluate::{Amortisation, Ceiling, LoraEval, Prompt};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoraParams {
    /// Training prompts (drawn from the task's training split).
    pub prompts: usize,
    /// Evaluation prompts (drawn from its held-out split).
    #[serde(default = "default_eval_prompts")]
    pub eval_prompts: usize,
    /// Samples per prompt `N` for the best-of-N dataset (and the ceiling).
    pub n: usize,
    pub reward: Reward,
    pub steps: usize,
    pub lr: f64,
    pub batch: usize,
    pub rank: usize,
    /// LoRA scale numerator: the update is `(alpha / rank) B A`.
    pub alpha: f64,
    /// Adapted blocks, counted from the top (all of them when larger than
    /// the model).
    #[serde(default = "default_layers")]
    pub layers: usize,
    pub clip: f64,
    /// Fresh samples per prompt for the single-sample accuracy estimate.
    pub eval_samples: usize,
    pub sampling: SampleSettings,
    pub seed: u64,
}

fn default_eval_prompts() -> usize {
    LoraParams::default().eval_prompts
}

fn default_layers() -> usize {
    LoraParams::default().layers
}

impl Default for LoraParams {
    fn default() -> Self {
        Self {
            prompts: 24,
            eval_prompts: 24,
            n: 8,
            reward: Reward::LoglikNorm,
            steps: 24,
            lr: 1e-3,
            batch: 4,
            rank: 8,
            alpha: 16.0,
            layers: 10,
            clip: 1.0,
            eval_samples: 4,
            sampling: SampleSettings { max_new_tokens: 48, ..Default::default() },
            seed: 0,
        }
    }
}

impl LoraParams {
    pub fn validate(&self) -> Result<()> {
        self.sampling.validate()?;
        check_training(self.lr, self.clip, 0.5, 0.0, 1)?;
        let checks = [
            (self.prompts == 0 || self.prompts > 10_000, "training prompts must be in 1..=10000"),
            (self.eval_prompts == 0 || self.eval_prompts > 10_000, "evaluation prompts must be in 1..=10000"),
            (self.n == 0 || self.n > 256, "samples per prompt must be in 1..=256"),
            (self.steps > 100_000, "steps must be at most 100000"),
            (self.batch == 0 || self.batch > 256, "batch must be in 1..=256"),
            (self.rank == 0 || self.rank > 256, "LoRA rank must be in 1..=256"),
            (self.layers == 0 || self.layers > 1024, "adapted layers must be in 1..=1024"),
            (!(self.alpha.is_finite() && self.alpha > 0.0), "LoRA alpha must be a positive number"),
            (self.eval_samples == 0 || self.eval_samples > 64, "evaluation samples must be in 1..=64"),
        ];
        check(&checks)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoraStep {
    pub step: usize,
    pub loss: f64,
    pub grad_norm: f64,
    /// Wall time of this step (forward, backward, AdamW), milliseconds.
    pub ms: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoraReport {
    /// Best-of-N answers trained on (training prompts whose winner finished).
    pub dataset_size: usize,
    /// Share of the training prompts whose best-of-N answer the oracle accepts.
    pub dataset_accuracy: f64,
    /// Trainable adapter weights.
    pub adapter_params: usize,
    /// The adapted blocks `[first, end)`.
    pub adapted_layers: [usize; 2],
    /// On the training prompts (`before.dataset_logp` / `after.dataset_logp`:
    /// the quantity SFT-Sharpening raises).
    pub train: Amortisation,
    /// On the held-out evaluation prompts: what amortisation means.
    pub eval: Amortisation,
    pub steps: Vec<LoraStep>,
    /// Mean step time, milliseconds.
    pub mean_step_ms: f64,
    /// Time to run the frozen blocks once per example, milliseconds.
    pub frozen_ms: f64,
}

/// A finished run: its report and the trained adapters (`model::peft`).
pub struct LoraRun {
    pub report: LoraReport,
    pub adapter: Adapter,
}

/// The adapters of `vars` (`{module}.lora_a` / `lora_b`) by module.
fn adapter_of(vars: &VarMap, p: &LoraParams) -> Result<Adapter> {
    let data = vars.data().lock().map_err(|_| Error::Other("poisoned lock".into()))?;
    let mut modules: Vec<(String, candle_core::Tensor, candle_core::Tensor)> = Vec::new();
    for (name, a) in data.iter() {
        if let Some(m) = name.strip_suffix(".lora_a") {
            let b = data.get(&format!("{m}.lora_b")).ok_or_else(|| Error::Other(format!("{m}: no lora_b")))?;
            modules.push((m.to_string(), a.as_tensor().detach(), b.as_tensor().detach()));
        }
    }
    modules.sort_by(|x, y| x.0.cmp(&y.0));
    Ok(Adapter { rank: p.rank, alpha: p.alpha, scale: p.alpha / p.rank as f64, modules })
}

/// The base model's weights with adapters on blocks `first..` over `vars`.
fn adapted(base: &Model, vars: &VarMap, p: &LoraParams, first: usize, trainable: bool) -> Result<Llama> {
    let cfg = base.llama.config();
    let vb = VarBuilder::from_tensors(base.tensors.clone(), candle_core::DType::F32, base.llama.device());
    let mut m = Llama::new(cfg, vb, trainable)?;
    m.add_lora(vars, p.rank, p.alpha, p.seed, first)?;
    Ok(m)
}

fn prompts_of(base: &Model, problems: Vec<crate::tasks::Problem>, from: u64) -> Result<Vec<Prompt>> {
    problems.into_iter().zip(from..).map(|(problem, index)| base.tok.encode_prompt(&problem.prompt).map(|ids| Prompt { problem, ids, index })).collect()
}

/// Runs LoRA SFT-Sharpening. `clock` returns seconds (step times);
/// `progress(done, total)` counts prompts of each phase (the dataset, the
/// ceiling, the evaluation before) then steps, then the evaluation after;
/// returning false cancels.
pub fn run_lora_sft(base: &Model, task: &dyn Task, p: &LoraParams, clock: &dyn Fn() -> f64, progress: Progress) -> Result<LoraRun> {
    p.validate()?;
    let (train_q, eval_q) = split::choose(task, p.prompts, p.eval_prompts, p.seed)?;
    let train_p = prompts_of(base, train_q, 0)?;
    let eval_p = prompts_of(base, eval_q, train_p.len() as u64)?;
    let (nt, ne) = (train_p.len(), eval_p.len());
    let total = 3 * (nt + ne) + p.steps;
    let mut done = 0usize;
    let mut tick = |done: &mut usize| {
        *done += 1;
        progress(*done, total)
    };

    let (winners, train_ceiling) = evaluate::best_of_n(base, task, &train_p, p, &mut || tick(&mut done))?;
    let data: Vec<Example> = winners
        .iter()
        .zip(&train_p)
        .filter(|(w, _)| w.complete)
        .map(|(w, q)| Example { prompt: q.ids.clone(), target: [w.tokens.as_slice(), &[base.tok.eos]].concat() })
        .collect();
    if data.is_empty() {
        return param_err(format!(
            "no answer ended within {} tokens among the {} samples of each of the {} training prompts, so there is nothing to train on: use more prompts or samples (or, in the CLI, raise --max-new-tokens)",
            p.sampling.max_new_tokens, p.n, nt
        ));
    }
    let (_, eval_ceiling) = evaluate::best_of_n(base, task, &eval_p, p, &mut || tick(&mut done))?;

    let blocks = base.llama.config().num_hidden_layers;
    let first = blocks - p.layers.min(blocks);
    let vars = VarMap::new();
    let train = adapted(base, &vars, p, first, true)?;
    let view = adapted(base, &vars, p, first, false)?;
    // By name: the gradient norm sums over the variables in this order.
    let trainable = crate::model::bundle::sorted_vars(&vars);
    let adapter_params = trainable.iter().map(|v| v.as_tensor().elem_count()).sum();
    let mut opt = AdamW::new(trainable.clone(), ParamsAdamW { lr: p.lr, weight_decay: 0.0, ..Default::default() })?;

    let t0 = clock();
    let cached = Cached::new(&base.llama, &data, first)?;
    let frozen_ms = (clock() - t0) * 1e3;
    let eval_both = |m: &Llama, done: &mut usize, tick: &mut dyn FnMut(&mut usize) -> bool| -> Result<(LoraEval, LoraEval)> {
        let mut tr = evaluate::evaluate(m, &base.tok, task, &train_p, p, &mut || tick(done))?;
        tr.dataset_logp = Some(mean(&cached.logps(&view)?));
        let ev = evaluate::evaluate(m, &base.tok, task, &eval_p, p, &mut || tick(done))?;
        Ok((tr, ev))
    };
    let (train_before, eval_before) = eval_both(&base.llama, &mut done, &mut tick)?;

    let mut steps = Vec::new();
    let mut batches = Batches::new(p.seed);
    for s in 1..=p.steps {
        if !tick(&mut done) {
            return Err(Error::Cancelled);
        }
        let idx = batches.next_indices(cached.len(), p.batch)?;
        let t0 = clock();
        let loss = cached.loss(&train, &idx)?;
        let (loss, grad_norm) = step_at(s, &mut opt, &trainable, &loss, p.clip)?;
        steps.push(LoraStep { step: s, loss, grad_norm, ms: (clock() - t0) * 1e3 });
    }
    let merged = view.merge_lora(&base.llama.quantized_names())?;
    let (train_after, eval_after) = eval_both(&merged, &mut done, &mut tick)?;
    let mean_step_ms = if steps.is_empty() { 0.0 } else { mean(&steps.iter().map(|s| s.ms).collect::<Vec<_>>()) };
    let report = LoraReport {
        dataset_size: data.len(),
        dataset_accuracy: train_ceiling.accuracy,
        adapter_params,
        adapted_layers: [first, blocks],
        train: Amortisation { prompts: nt, before: train_before, after: train_after, bon_ceiling: train_ceiling },
        eval: Amortisation { prompts: ne, before: eval_before, after: eval_after, bon_ceiling: eval_ceiling },
        steps,
        mean_step_ms,
        frozen_ms,
    };
    Ok(LoraRun { report, adapter: adapter_of(&vars, p)? })
}
