//! The last message of a job: a finished experiment with its exports, or a
//! failure in words.

use crate::app::protocol::{Exports, FromWorker, Outcome};
use crate::error::Error;
use crate::report::{envelope, stamp, Provenance};

/// The message of a failed job.
pub fn failed(e: &Error) -> FromWorker {
    FromWorker::Failed { message: e.to_string() }
}

/// A finished experiment's message: its outcome, the JSON export (the CLI's
/// envelope around `report`) and the other exports `fill` adds.
pub(super) fn done(prov: &Provenance, params: &serde_json::Value, report: serde_json::Value, summary: &str, outcome: Outcome, fill: impl FnOnce(&mut Exports)) -> FromWorker {
    let mut exports = Exports {
        stem: crate::app::export::stem(prov),
        json: envelope(prov, params.clone(), report).to_string(),
        stamp: stamp(prov, summary),
        ..Exports::default()
    };
    fill(&mut exports);
    FromWorker::Done { experiment: outcome.experiment(), outcome: Box::new(outcome), exports }
}

