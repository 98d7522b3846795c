//! The worker's job for SFT-Sharpening on a real model: LoRA adapters over
//! the frozen base weights (`sharpen::lora_sft`), with progress, the report
//! and its exports. The page's SFT view runs this when the loaded model is a
//! real one (its answers are free text, so the exact-distribution SFT of the
//! built-in models cannot run).

use serde_json::json;

use super::finish::done;
use crate::app::export::lora_steps_csv;
use crate::app::protocol::{FromWorker, Outcome};
use crate::app::session::Session;
use crate::error::Result;
use crate::sharpen::lora_sft::{run_lora_sft, LoraParams};
use crate::sharpen::SftParams;

/// The LoRA parameters of the page's SFT controls: training prompts, N,
/// self-reward, steps, learning rate, batch, sampling and seed from the
/// controls; evaluation prompts as many as training prompts; rank, alpha, adapted layers, clipping and
/// evaluation samples as `sharpen sft --model` defaults.
fn lora_params(p: &SftParams, task_prompts: usize) -> LoraParams {
    LoraParams {
        prompts: p.prompts.min(task_prompts),
        // As many held-out prompts as training prompts (`sharpen sft --model`'s rule).
        eval_prompts: p.prompts.min(task_prompts),
        n: p.n,
        reward: p.reward,
        steps: p.steps,
        lr: p.lr,
        batch: p.batch,
        sampling: p.sampling.clone(),
        seed: p.seed,
        ..LoraParams::default()
    }
}

/// What the run is doing at progress count `done` (prompts, then steps,
/// then prompts: the order of `run_lora_sft`).
fn phase(done: usize, nt: usize, ne: usize, steps: usize) -> &'static str {
    let ends = [nt, nt + ne, 2 * (nt + ne), 2 * (nt + ne) + steps];
    match ends.iter().position(|&e| done <= e) {
        Some(0) => "training prompts: best-of-N dataset",
        Some(1) => "held-out prompts: the base model's best-of-N ceiling",
        Some(2) => "prompts: evaluating the base model",
        Some(3) => "LoRA steps",
        _ => "prompts: evaluating the fine-tuned model",
    }
}

pub(super) fn run(s: &Session, p: &SftParams, post: &mut dyn FnMut(FromWorker), clock: &dyn Fn() -> f64) -> Result<FromWorker> {
    let p = lora_params(p, s.task.num_problems());
    let (train, eval) = crate::tasks::split::indices(s.task.as_ref());
    let (nt, ne) = (p.prompts.min(train.len()), p.eval_prompts.min(eval.len()));
    let run = run_lora_sft(&s.model, s.task.as_ref(), &p, clock, &mut |done, total| {
        post(FromWorker::Progress { done, total, unit: phase(done, nt, ne, p.steps).into() });
        true
    })?;
    // The trained adapters in PEFT's layout, the same bytes as `sharpen sft
    // --model F --save-adapter DIR` writes for the same run.
    let (config, weights) = run.adapter.to_peft(&s.info.source)?;
    let r = run.report;
    let prov = s.provenance("sft", p.seed);
    let params = json!(p);
    let steps = lora_steps_csv(&prov, &params, &r.steps);
    let summary = format!("LoRA rank {} · {} + {} held-out prompts · N {} · {} steps · lr {}", p.rank, r.train.prompts, r.eval.prompts, p.n, p.steps, p.lr);
    Ok(done(&prov, &params, json!(r), &summary, Outcome::Lora(r), |ex| {
        ex.steps_csv = steps;
        ex.adapter_config = config;
        ex.adapter_weights = weights;
    }))

}
