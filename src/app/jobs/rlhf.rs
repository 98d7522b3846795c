//! RLHF-Sharpening's job (`sharpen::rlhf`): exact evaluations, the distance
//! to the closed form and the watched prompt's distribution beside its
//! closed form, streamed as training runs; exports = `sharpen rlhf --json`
//! and one CSV row per evaluation.

use std::cell::RefCell;

use serde_json::json;

use super::finish::done;
use super::watched;
use crate::app::export::steps_csv;
use crate::app::protocol::{FromWorker, Outcome};
use crate::app::session::Session;
use crate::error::Result;
use crate::sharpen::{run_rlhf_observed, RlhfParams};

pub(super) fn run(s: &Session, p: RlhfParams, watch: &str, post: &mut dyn FnMut(FromWorker)) -> Result<FromWorker> {
    p.validate()?;
    let wq = watched::problem(s, p.prompts, p.seed, p.threshold, watch)?;
    let cf = watched::closed_form_rows(s, &wq, p.beta, p.threshold)?;
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
            let watched = watched::snapshot(s, llama, &wq, p.threshold, cf.clone())?;
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
    let steps = steps_csv(&prov, &params, &metrics, Some(&extra));
    let summary = format!("{} prompts · beta {} · {} steps x {} pairs · {}", r.prompts, p.beta, p.steps, p.pairs, if p.online { "online" } else { "offline" });
    Ok(done(&prov, &params, json!(r), &summary, Outcome::Rlhf(r), |ex| ex.steps_csv = steps))
}
