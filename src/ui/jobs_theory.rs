//! The worker's jobs for RLHF-Sharpening and the theory views (closed form vs
//! token temperature, generation-verification gap, sample efficiency): run
//! the core with progress, stream evaluations, build the exports. The JSON
//! exports of `rlhf` and `efficiency` equal `sharpen rlhf|efficiency --json`.

use std::cell::RefCell;

use serde_json::json;

use super::export::{stem, steps_csv};
use super::jobs::{watched_problem, watched_snapshot, Session};
use super::protocol::{Exports, FromWorker, TheoryParams};
use crate::error::{Error, Result};
use crate::report::envelope;
use crate::sharpen::closed_form::{closed_form, compare};
use crate::sharpen::efficiency::{run_efficiency, EfficiencyParams};
use crate::sharpen::enumerate;
use crate::sharpen::explore::{rows_of, AnswerRow};
use crate::sharpen::gap::generation_verification_gap;
use crate::sharpen::{run_rlhf_observed, RlhfParams};

/// The closed form of the watched prompt, as rows (most likely first).
fn closed_form_rows(s: &Session, prompt: &str, beta: f64, threshold: f64) -> Result<Vec<AnswerRow>> {
    let q = s.task.parse(prompt)?;
    let ids = s.model.tok.encode_prompt(&q.prompt)?;
    let d = enumerate(&s.model.llama, &[ids], s.model.tok.eos, s.task.max_answer_tokens(), threshold)?.remove(0);
    let mut rows = rows_of(&closed_form(&d, beta), &s.model.tok, s.task.as_ref(), &q)?;
    rows.truncate(12);
    Ok(rows)
}

pub fn run_rlhf_job(s: &Session, p: RlhfParams, watch: &str, post: &mut dyn FnMut(FromWorker)) -> Result<FromWorker> {
    p.validate()?;
    let wq = watched_problem(s, p.prompts, p.seed, p.threshold, watch).map_err(|e| Error::Param(format!("watched prompt: {e}")))?;
    let cf = closed_form_rows(s, &wq.prompt, p.beta, p.threshold)?;
    let post = RefCell::new(post);
    let r = run_rlhf_observed(
        &s.model,
        s.task.as_ref(),
        &p,
        &mut |done, total| {
            (post.borrow_mut())(FromWorker::Progress { done, total, unit: "training steps".into() });
            true
        },
        &mut |step, llama| {
            let watched = watched_snapshot(s, llama, &wq, p.threshold, cf.clone())?;
            (post.borrow_mut())(FromWorker::TrainEval {
                step: step.metrics.clone(),
                kl_to_closed_form: Some(step.kl_to_closed_form),
                samples_drawn: Some(step.samples_drawn),
                watched: Some(watched),
            });
            Ok(())
        },
    )?;
    let prov = s.provenance("rlhf", p.seed);
    let params = json!(p);
    let metrics: Vec<_> = r.steps.iter().map(|x| x.metrics.clone()).collect();
    let extra: Vec<(f64, usize)> = r.steps.iter().map(|x| (x.kl_to_closed_form, x.samples_drawn)).collect();
    let exports = Exports {
        stem: stem(&prov),
        json: envelope(&prov, params.clone(), json!(r)).to_string(),
        samples_csv: String::new(),
        steps_csv: steps_csv(&prov, &params, &metrics, Some(&extra)),
        dataset_jsonl: String::new(),
        stamp: s.chart_stamp(&prov, &format!("{} prompts · beta {} · {} steps x {} pairs · {}", r.prompts, p.beta, p.steps, p.pairs, if p.online { "online" } else { "offline" })),
    };
    Ok(FromWorker::RlhfDone { report: r, exports })
}

pub fn run_theory_job(s: &Session, mut p: TheoryParams) -> Result<FromWorker> {
    if p.prompt.trim().is_empty() {
        p.prompt = s.info.first_prompt.clone();
    }
    let closed = compare(&s.model, s.task.as_ref(), &p.prompt, p.beta, 1e-6, p.scan)?;
    let gap = generation_verification_gap(&s.model, s.task.as_ref(), p.gap_prompts, p.seed, 1e-4)?;
    let prov = s.provenance("theory", p.seed);
    let exports = Exports {
        stem: stem(&prov),
        json: envelope(&prov, json!(p), json!({"closed_form": closed, "gap": gap})).to_string(),
        stamp: s.chart_stamp(&prov, &format!("prompt {} · beta {}", closed.prompt, p.beta)),
        ..Exports::default()
    };
    Ok(FromWorker::TheoryDone { closed, gap, exports })
}

pub fn run_efficiency_job(s: &Session, p: EfficiencyParams, post: &mut dyn FnMut(FromWorker)) -> Result<FromWorker> {
    let r = run_efficiency(&s.model, s.task.as_ref(), &p, &mut |done, total| {
        post(FromWorker::Progress { done, total, unit: "training steps (all runs)".into() });
        true
    })?;
    let prov = s.provenance("efficiency", p.seed);
    let exports = Exports {
        stem: stem(&prov),
        json: envelope(&prov, json!(p), json!(r)).to_string(),
        stamp: s.chart_stamp(&prov, &format!("{} prompts · SFT N {:?} · RLHF beta {}", r.prompts, p.sft_n, p.beta)),
        ..Exports::default()
    };
    Ok(FromWorker::EfficiencyDone { report: r, exports })
}
