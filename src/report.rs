//! The envelope every JSON report shares, in the CLI (`--json`) and in the
//! page's exports: the same function builds both, so a run with the same
//! parameters and seed gives the same JSON in either place.

use serde_json::{json, Value};

/// Where a run's model came from and its identity.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Provenance {
    pub command: String,
    pub task: String,
    /// "built-in add", a folder, a URL...
    pub model: String,
    pub model_sha256: String,
    pub seed: u64,
}

/// `{command, version, task, model, model_sha256, seed, params, ...report}`.
pub fn envelope(p: &Provenance, params: Value, report: Value) -> Value {
    let mut v = json!({
        "command": p.command,
        "version": crate::VERSION,
        "task": p.task,
        "model": p.model,
        "model_sha256": p.model_sha256,
        "seed": p.seed,
        "params": params,
    });
    if let (Some(obj), Value::Object(r)) = (v.as_object_mut(), report) {
        obj.extend(r);
    }
    v
}

/// A one-line stamp for files that cannot carry JSON (CSV comments, chart
/// footers): version, command, task, seed, model hash and the parameters.
pub fn stamp_line(p: &Provenance, params: &Value) -> String {
    format!(
        "sharpening-lab {} | {} | task {} | seed {} | model {} sha256 {} | params {}",
        crate::VERSION, p.command, p.task, p.seed, p.model, p.model_sha256, params
    )
}
