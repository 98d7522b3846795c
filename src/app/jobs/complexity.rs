//! The sample-complexity job (`sharpen::complexity`); export = `sharpen
//! complexity --json`.

use serde_json::json;

use super::finish::done;
use crate::app::protocol::{FromWorker, Outcome};
use crate::app::session::Session;
use crate::error::Result;
use crate::sharpen::complexity::{run_complexity, ComplexityParams};

pub(super) fn run(s: &Session, p: ComplexityParams, post: &mut dyn FnMut(FromWorker)) -> Result<FromWorker> {
    let r = run_complexity(&s.model, s.task.as_ref(), &p, &mut |done, total| {
        post(FromWorker::Progress { done, total, unit: "SFT runs".into() });
        true
    })?;
    let prov = s.provenance("complexity", p.seed);
    let summary = format!("{} evaluation prompts · C_cov {:.2} · SFT grid N {:?} x n {:?}", r.prompts, r.c_cov, p.sft_n, p.sft_prompts);
    Ok(done(&prov, &json!(p), json!(r), &summary, Outcome::Complexity(r), |_| {}))
}
