//! The theory view's job: the closed form `pi_base^(1+1/beta)` against
//! token-level temperature for one prompt (`sharpen::closed_form`) and the
//! task's generation-verification gap (`sharpen::gap`); export = their JSON.

use serde_json::json;

use super::finish::done;
use crate::app::protocol::{FromWorker, Outcome, TheoryParams};
use crate::app::session::Session;
use crate::error::Result;
use crate::sharpen::closed_form::compare;
use crate::sharpen::gap::generation_verification_gap;

pub(super) fn run(s: &Session, mut p: TheoryParams) -> Result<FromWorker> {
    if p.prompt.trim().is_empty() {
        p.prompt = s.info.first_prompt.clone();
    }
    let closed = compare(&s.model, s.task.as_ref(), &p.prompt, p.beta, 1e-6, p.scan)?;
    let gap = generation_verification_gap(&s.model, s.task.as_ref(), p.gap_prompts, p.seed, 1e-4)?;
    let prov = s.provenance("theory", p.seed);
    let summary = format!("prompt {} · beta {}", closed.prompt, p.beta);
    let report = json!({"closed_form": closed, "gap": gap});
    Ok(done(&prov, &json!(p), report, &summary, Outcome::Theory { closed, gap }, |_| {}))
}
