//! The sample-efficiency job: SFT-Sharpening at several N against
//! RLHF-Sharpening on the same prompts (`sharpen::efficiency`); export =
//! `sharpen efficiency --json`.

use serde_json::json;

use super::finish::done;
use crate::app::protocol::{FromWorker, Outcome};
use crate::app::session::Session;
use crate::error::Result;
use crate::sharpen::efficiency::{run_efficiency, EfficiencyParams};

pub(super) fn run(s: &Session, p: EfficiencyParams, post: &mut dyn FnMut(FromWorker)) -> Result<FromWorker> {
    let r = run_efficiency(&s.model, s.task.as_ref(), &p, &mut |done, total| {
        post(FromWorker::Progress { done, total, unit: "training steps (all runs)".into() });
        true
    })?;
    let prov = s.provenance("efficiency", p.seed);
    let summary = format!("{} prompts · SFT N {:?} · RLHF beta {}", r.prompts, p.sft_n, p.beta);
    Ok(done(&prov, &json!(p), json!(r), &summary, Outcome::Efficiency(r), |_| {}))
}
