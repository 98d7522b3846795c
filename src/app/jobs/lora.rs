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

/// The LoRA parameters of the page's SFT controls: prompts, N, self-reward,
/// steps, learning rate, batch, sampling and seed from the controls; rank,
/// alpha, clipping and evaluation samples as `sharpen sft --model` defaults.
fn lora_params(p: &SftParams, task_prompts: usize) -> LoraParams {
    LoraParams {
        prompts: p.prompts.min(task_prompts),
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

pub(super) fn run(s: &Session, p: &SftParams, post: &mut dyn FnMut(FromWorker), clock: &dyn Fn() -> f64) -> Result<FromWorker> {
    let p = lora_params(p, s.task.num_problems());
    let unit = format!("dataset prompts + {} LoRA steps + 2 evaluations", p.steps);
    let r = run_lora_sft(&s.model, s.task.as_ref(), &p, clock, &mut |done, total| {
        post(FromWorker::Progress { done, total, unit: unit.clone() });
        true
    })?;
    let prov = s.provenance("sft", p.seed);
    let params = json!(p);
    let steps = lora_steps_csv(&prov, &params, &r.steps);
    let summary = format!("LoRA rank {} · {} prompts · N {} · {} steps · lr {}", p.rank, r.prompts, p.n, p.steps, p.lr);
    Ok(done(&prov, &params, json!(r), &summary, Outcome::Lora(r), |ex| ex.steps_csv = steps))
}
