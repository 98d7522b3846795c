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

/// The one provenance line for what cannot carry the JSON envelope (CSV
/// comment lines, chart footers, a training run's live charts): version,
/// command, task, seed, model and its weights' SHA-256, then `detail` (the
/// parameters, or a summary of them).
pub fn stamp(p: &Provenance, detail: &str) -> String {
    format!(
        "sharpening-lab {} · {} · task {} · seed {} · model {} · sha256 {} · {detail}",
        crate::VERSION, p.command, p.task, p.seed, p.model, p.model_sha256
    )
}

/// A count that may be astronomically large (a theorem's bound): rounded up
/// to a whole number below 10^5, else in scientific notation.
pub fn count_text(x: f64) -> String {
    if x < 1e5 {
        format!("{:.0}", x.ceil())
    } else {
        format!("{x:.2e}")
    }
}
