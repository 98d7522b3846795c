//! The coverage-vs-margin job (`sharpen::margin`); export = `sharpen margin
//! --json`.

use serde_json::json;

use super::finish::done;
use crate::app::protocol::{FromWorker, Outcome};
use crate::app::session::Session;
use crate::error::Result;
use crate::sharpen::margin::{run_margin, MarginParams};

pub(super) fn run(s: &Session, p: MarginParams, post: &mut dyn FnMut(FromWorker)) -> Result<FromWorker> {
    let r = run_margin(&s.model, s.task.as_ref(), &p, &mut |done, total| {
        post(FromWorker::Progress { done, total, unit: "RLHF steps (all runs)".into() });
        true
    })?;
    let prov = s.provenance("margin", p.seed);
    let summary = format!("{} prompts · delta {} · eps {} · RLHF at beta {:?}", r.prompts, p.delta, p.eps, p.train_betas);
    Ok(done(&prov, &json!(p), json!(r), &summary, Outcome::Margin(r), |_| {}))
}
