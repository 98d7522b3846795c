//! The coverage-vs-exploration jobs: on Example J.1 (`sharpen::coverage`;
//! it trains its own linear-softmax models, not the loaded one) and on the
//! task's transformer (`sharpen::coverage_lm`); export = `sharpen coverage
//! --json` (`--task j1`, or the task).

use serde_json::json;

use super::finish::done;
use crate::app::protocol::{FromWorker, Outcome};
use crate::app::session::Session;
use crate::error::Result;
use crate::report::Provenance;
use crate::sharpen::coverage::{run_coverage, CoverageParams};
use crate::sharpen::coverage_lm::{run_coverage_lm, LmCoverageParams};
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

/// Where a d-sweep's numbers come from: every d's class, hashed together.
pub fn sweep_provenance(p: &crate::sharpen::coverage_sweep::SweepParams, r: &crate::sharpen::coverage_sweep::SweepReport) -> Provenance {
    let hashes: Vec<String> = r.sweep.iter().filter_map(|row| LinearClass::new(r.structure, row.d, row.b).ok()).map(|c| c.weights_sha256()).collect();
    let ds: Vec<String> = p.ds.iter().map(|d| d.to_string()).collect();
    Provenance {
        command: "coverage".into(),
        task: "j1".into(),
        model: format!("Example J.1, {:?}, d = {}", p.structure, ds.join(",")).to_lowercase(),
        model_sha256: crate::model::bundle::sha256_hex(hashes.join(" ").as_bytes()),
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

pub(super) fn run_lm(s: &Session, p: LmCoverageParams, post: &mut dyn FnMut(FromWorker)) -> Result<FromWorker> {
    let r = run_coverage_lm(&s.model, s.task.as_ref(), &p, &mut |done, total| {
        post(FromWorker::Progress { done, total, unit: "method runs (methods x seeds)".into() });
        true
    })?;
    let prov = s.provenance("coverage", p.seed);
    let summary = format!("{} prompts · C_cov {:.0} · beta {}", r.prompts, r.c_cov, p.beta);
    Ok(done(&prov, &json!(p), json!(r), &summary, Outcome::CoverageLm(r), |_| {}))
}
