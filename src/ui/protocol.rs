//! The worker protocol: one typed message enum each way. Messages cross the
//! worker boundary as JS values through `serde-wasm-bindgen` (which keeps
//! infinities, unlike JSON); exports travel as ready-made text.

use serde::{Deserialize, Serialize};

use crate::sharpen::closed_form::ClosedFormReport;
use crate::sharpen::efficiency::{EfficiencyParams, EfficiencyReport};
use crate::sharpen::explore::{AnswerRow, ExploreParams, ExploreReport};
use crate::sharpen::gap::GapReport;
use crate::sharpen::sft::StepMetrics;
use crate::sharpen::{BonParams, BonReport, RlhfParams, RlhfReport, SftParams, SftReport};

/// Page -> worker.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ToWorker {
    /// Load the built-in model of a task.
    Load { task: String },
    /// Load a GGUF model from a URL (downloaded in the worker with progress,
    /// kept in the Cache API) and use it with `task` (a prompt set, or a
    /// built-in task's prompts as free text). A model from a file picker
    /// arrives as a raw `{file, task}` message instead (a `File` cannot pass
    /// through serde). `prompts`: the user's own prompt set for task `custom`.
    LoadUrl {
        url: String,
        task: String,
        #[serde(default)]
        prompts: Option<super::jobs::PromptsFile>,
    },
    Explore(ExploreParams),
    Bon(BonParams),
    /// SFT-Sharpening; `watch` = the prompt whose distribution is followed
    /// ("" = the first training prompt whose `y*` is wrong).
    Sft { params: SftParams, watch: String },
    /// RLHF-Sharpening; `watch` as for SFT.
    Rlhf { params: RlhfParams, watch: String },
    /// The closed form vs token temperature for one prompt, and the task's
    /// generation-verification gap.
    Theory(TheoryParams),
    /// SFT- vs RLHF-Sharpening sample efficiency.
    Efficiency(EfficiencyParams),
    /// Measure sampling throughput (tokens/s) at N = 64, as `sharpen bench` does.
    Bench,
    /// Choose the backend ("auto", "cpu", "webgpu") for the loaded model;
    /// the worker answers with `Backend`.
    SetBackend { backend: String },
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
    /// A real (GGUF) model rather than a built-in one.
    #[serde(default)]
    pub real: bool,
    /// How the matrix weights are held (e.g. "q8 (decoding) x 211").
    #[serde(default)]
    pub weights: String,
    /// Bytes of the model file.
    #[serde(default)]
    pub file_bytes: usize,
    /// Where the bytes came from: "built-in", "download", "browser cache", "file".
    #[serde(default)]
    pub origin: String,
    /// The task as exports name it: the task's name, or for the user's own
    /// prompt set its file name, size and SHA-256.
    #[serde(default)]
    pub task_label: String,
}

/// The exact answer distribution of one prompt under the model being trained.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Watched {
    pub prompt: String,
    pub answer: String,
    pub rows: Vec<AnswerRow>,
    /// RLHF only: the closed-form optimum `pi*_beta` of this prompt.
    #[serde(default)]
    pub closed_form: Vec<AnswerRow>,
}

/// Parameters of the theory view.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TheoryParams {
    pub prompt: String,
    pub beta: f64,
    /// Prompts scanned for greedy misses and token-temperature distances.
    pub scan: usize,
    /// Prompts of the generation-verification gap.
    pub gap_prompts: usize,
    pub seed: u64,
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
    /// An SFT or RLHF evaluation, streamed as training runs (RLHF adds the
    /// distance to the closed form and the samples drawn so far).
    TrainEval { step: StepMetrics, kl_to_closed_form: Option<f64>, samples_drawn: Option<usize>, watched: Option<Watched> },
    Explored { report: ExploreReport, exports: Exports },
    BonDone { report: BonReport, exports: Exports },
    SftDone { report: SftReport, exports: Exports },
    /// SFT-Sharpening of a real model with LoRA adapters.
    LoraDone { report: crate::sharpen::lora_sft::LoraReport, exports: Exports },
    RlhfDone { report: RlhfReport, exports: Exports },
    TheoryDone { closed: ClosedFormReport, gap: GapReport, exports: Exports },
    EfficiencyDone { report: EfficiencyReport, exports: Exports },
    /// Sampling speed of a built-in model (N = 64, as `sharpen bench`).
    Bench { tokens_per_s: f64, tokens: usize, seconds: f64 },
    /// Decoding speed of a real model at batch 1 and N = 16 (as `sharpen
    /// bench --model`): `(batch, tokens/s)` pairs and the prefill time.
    DecodeBench { rows: Vec<(usize, f64)>, new_tokens: usize, prefill_ms: f64 },
    /// Which backend runs and why (after `SetBackend`, or after a GPU fault
    /// that fell back to the CPU).
    Backend { gpu: bool, text: String },
    /// A run or load failed; the message is for people.
    Failed { message: String },
}
