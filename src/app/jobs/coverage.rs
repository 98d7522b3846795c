//! The coverage-vs-exploration job on Example J.1 (`sharpen::coverage`;
//! it trains its own linear-softmax models, not the loaded one); export =
//! `sharpen coverage --json`.

use serde_json::json;

use super::finish::done;
use crate::app::protocol::{FromWorker, Outcome};
use crate::error::Result;
use crate::report::Provenance;
use crate::sharpen::coverage::{run_coverage, CoverageParams};
use crate::sharpen::linear::LinearClass;

/// The provenance of a run on Example J.1's class (the CLI's too).
pub fn provenance(p: &CoverageParams, r: &crate::sharpen::coverage::CoverageReport) -> Provenance {
    Provenance {
        command: "coverage".into(),
        task: "j1".into(),
        model: format!("Example J.1, {:?}, d = {}", p.structure, p.d).to_lowercase(),
        model_sha256: LinearClass::new(r.structure, r.d, r.b).map(|c| c.weights_sha256()).unwrap_or_default(),
        seed: p.seed,
    }
}

pub(super) fn run(p: CoverageParams, post: &mut dyn FnMut(FromWorker)) -> Result<FromWorker> {
    let r = run_coverage(&p, &mut |done, total| {
        post(FromWorker::Progress { done, total, unit: "methods".into() });
        true
    })?;
    let prov = provenance(&p, &r);
    let summary = format!("Example J.1 ({:?}), d = {}, beta {}, C_cov {:.0}", p.structure, p.d, p.beta, r.c_cov);
    Ok(done(&prov, &json!(p), json!(r), &summary, Outcome::Coverage(r), |_| {}))
}
