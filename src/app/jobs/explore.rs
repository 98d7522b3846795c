//! The prompt explorer's job: N judged samples of one prompt beside its
//! exact answer distribution (`sharpen::explore`), sampled and scored on the
//! chosen backend; exports = `sharpen explore --json` and one CSV row per
//! sample.

use serde_json::json;

use super::finish::done;
use crate::app::export::{samples_csv, PromptSamples};
use crate::app::protocol::{FromWorker, Outcome};
use crate::app::session::Session;
use crate::decode::Decode;
use crate::error::Result;
use crate::sharpen::explore::{explore_on, ExploreParams};

/// The explorer's parameters with the default prompt filled in.
fn explore_params(s: &Session, mut p: ExploreParams) -> ExploreParams {
    if p.prompt.trim().is_empty() {
        p.prompt = s.info.first_prompt.clone();
    }
    p
}

pub(super) async fn run(s: &Session, p: ExploreParams, dec: &mut dyn Decode) -> Result<FromWorker> {
    let p = explore_params(s, p);
    let r = explore_on(&s.model, s.task.as_ref(), &p, dec).await?;
    let prov = s.provenance("explore", p.seed);
    let params = json!(p);
    let samples = samples_csv(&prov, &params, &[PromptSamples { index: 0, prompt: &r.prompt, answer: &r.answer, marked: r.marked, samples: &r.samples }]);
    let summary = format!("prompt {} · N {} · T {} · sampled and scored on {}", r.prompt, p.n, p.sampling.temperature, dec.label());
    Ok(done(&prov, &params, json!(r), &summary, Outcome::Explore(r), |ex| ex.samples_csv = samples))
}
