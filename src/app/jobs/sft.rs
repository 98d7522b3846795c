//! SFT-Sharpening's job on a built-in model (`sharpen::sft`): the exact
//! evaluations and the watched prompt's distribution streamed as training
//! runs; exports = `sharpen sft --json`, one CSV row per evaluation and the
//! training set. (A real model trains LoRA adapters instead: `lora.rs`.)

use std::cell::RefCell;

use serde_json::json;

use super::finish::done;
use super::watched;
use crate::app::export::{dataset_jsonl, steps_csv};
use crate::app::protocol::{FromWorker, Outcome};
use crate::app::session::Session;
use crate::error::Result;
use crate::sharpen::{run_sft_observed, SftParams};

pub(super) fn run(s: &Session, p: SftParams, watch: &str, post: &mut dyn FnMut(FromWorker)) -> Result<FromWorker> {
    p.validate()?;
    let wq = watched::problem(s, p.prompts, p.seed, p.threshold, watch)?;
    let unit = "dataset prompts + training steps".to_string();
    let post = RefCell::new(post);
    let run = run_sft_observed(
        &s.model,
        s.task.as_ref(),
        &p,
        &mut |done, total| {
            (post.borrow_mut())(FromWorker::Progress { done, total, unit: unit.clone() });
            true
        },
        &mut |step, llama| {
            let watched = watched::snapshot(s, llama, &wq, p.threshold, vec![])?;
            (post.borrow_mut())(FromWorker::TrainEval { step: step.clone(), kl_to_closed_form: None, samples_drawn: None, watched: Some(watched) });
            Ok(())
        },
    )?;
    let prov = s.provenance("sft", p.seed);
    let params = json!(p);
    let r = run.report;
    let steps = steps_csv(&prov, &params, &r.steps, None);
    let dataset = dataset_jsonl(&prov, &json!({"reward": p.reward.name(), "n": p.n}), &run.dataset);
    let summary = format!("{} prompts · N {} · {} steps · lr {}", r.prompts, p.n, p.steps, p.lr);
    Ok(done(&prov, &params, json!(r), &summary, Outcome::Sft(r), |ex| {
        ex.steps_csv = steps;
        ex.dataset_jsonl = dataset;
    }))
}
