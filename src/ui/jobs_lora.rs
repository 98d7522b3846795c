//! The worker's job for SFT-Sharpening on a real model: LoRA adapters over
//! the frozen base weights (`sharpen::lora_sft`), with progress, the report
//! and its exports. The page's SFT view runs this when the loaded model is a
//! real one (its answers are free text, so the exact-distribution SFT of the
//! built-in models cannot run).

use serde_json::json;

use super::export::{lora_steps_csv, stem};
use super::jobs::Session;
use super::protocol::{Exports, FromWorker};
use crate::error::Result;
use crate::report::envelope;
use crate::sharpen::lora_sft::{run_lora_sft, LoraParams};
use crate::sharpen::SftParams;

/// The LoRA parameters of the page's SFT controls: prompts, N, self-reward,
/// steps, learning rate, batch, sampling and seed from the controls; rank,
/// alpha, clipping and evaluation samples as `sharpen sft --model` defaults.
pub fn lora_params(p: &SftParams, task_prompts: usize) -> LoraParams {
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

pub fn run_lora_job(s: &Session, p: &SftParams, post: &mut dyn FnMut(FromWorker), clock: &dyn Fn() -> f64) -> Result<FromWorker> {
    let p = lora_params(p, s.task.num_problems());
    let unit = format!("dataset prompts + {} LoRA steps + 2 evaluations", p.steps);
    let r = run_lora_sft(&s.model, s.task.as_ref(), &p, clock, &mut |done, total| {
        post(FromWorker::Progress { done, total, unit: unit.clone() });
        true
    })?;
    let prov = s.provenance("sft", p.seed);
    let params = json!(p);
    let exports = Exports {
        stem: stem(&prov),
        json: envelope(&prov, params.clone(), json!(r)).to_string(),
        samples_csv: String::new(),
        steps_csv: lora_steps_csv(&prov, &params, &r.steps),
        dataset_jsonl: String::new(),
        stamp: s.chart_stamp(&prov, &format!("LoRA rank {} · {} prompts · N {} · {} steps · lr {}", p.rank, r.prompts, p.n, p.steps, p.lr)),
    };
    Ok(FromWorker::LoraDone { report: r, exports })
}
