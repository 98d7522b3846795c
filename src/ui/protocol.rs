//! The worker protocol: one typed message enum each way. Messages cross the
//! worker boundary as JS values through `serde-wasm-bindgen` (which keeps
//! infinities, unlike JSON); exports travel as ready-made text.

use serde::{Deserialize, Serialize};

use crate::sharpen::explore::{AnswerRow, ExploreParams, ExploreReport};
use crate::sharpen::sft::SftStep;
use crate::sharpen::{BonParams, BonReport, SftParams, SftReport};

/// Page -> worker.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ToWorker {
    /// Load the built-in model of a task.
    Load { task: String },
    Explore(ExploreParams),
    Bon(BonParams),
    /// SFT-Sharpening; `watch` = the prompt whose distribution is followed
    /// ("" = the first training prompt whose `y*` is wrong).
    Sft { params: SftParams, watch: String },
    /// Measure sampling throughput (tokens/s) at N = 64, as `sharpen bench` does.
    Bench,
}

/// Facts about the loaded model.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModelInfo {
    pub task: String,
    pub source: String,
    pub sha256: String,
    pub num_params: usize,
    pub description: String,
    pub max_new_tokens: usize,
    /// The task's first prompt (the explorer's default).
    pub first_prompt: String,
    pub load_ms: f64,
}

/// The exact answer distribution of one prompt under the model being trained.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Watched {
    pub prompt: String,
    pub answer: String,
    pub rows: Vec<AnswerRow>,
}

/// Texts the page offers for download, each stamped with the provenance.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Exports {
    /// File stem, e.g. "sharpening-bon-add-seed0".
    pub stem: String,
    /// The JSON report: exactly what `sharpen <command> --json` prints.
    pub json: String,
    /// One row per sample.
    pub samples_csv: String,
    /// One row per evaluated step (SFT only).
    pub steps_csv: String,
    /// The best-of-N dataset, prompt/completion JSONL.
    pub dataset_jsonl: String,
    /// One line for chart footers.
    pub stamp: String,
}

/// Worker -> page.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum FromWorker {
    /// The worker's code is running and listening.
    Started,
    Loaded(ModelInfo),
    /// `done` of `total` units (e.g. "prompts sampled", "steps").
    Progress { done: usize, total: usize, unit: String },
    /// An SFT evaluation, streamed as training runs.
    SftEval { step: SftStep, watched: Option<Watched> },
    Explored { report: ExploreReport, exports: Exports },
    BonDone { report: BonReport, exports: Exports },
    SftDone { report: SftReport, exports: Exports },
    Bench { tokens_per_s: f64, tokens: usize, seconds: f64 },
    /// A run or load failed; the message is for people.
    Failed { message: String },
}
