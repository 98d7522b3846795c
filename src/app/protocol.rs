//! The worker protocol: one typed message enum each way. Messages cross the
//! worker boundary as JS values through `serde-wasm-bindgen` (which keeps
//! infinities, unlike JSON); exports travel as ready-made text. Commands
//! (load a model, choose the backend) are apart from experiment jobs, so a
//! job handler cannot receive a load.

use serde::{Deserialize, Serialize};

use super::backend::Backend;
pub use super::experiment::{Experiment, Job, Outcome, TheoryParams};
use crate::sharpen::explore::AnswerRow;
use crate::sharpen::sft::StepMetrics;

/// Page -> worker.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ToWorker {
    Command(Command),
    Job(Job),
}

/// The worker's state: which model, which backend.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Command {
    /// Load the built-in model of a task.
    Load { task: String },
    /// Load a GGUF model (or a Hugging Face folder: a URL ending in `/`) from
    /// a URL (downloaded in the worker with progress, kept in the Cache API)
    /// and use it with `task` (a prompt set, or a built-in task's prompts as
    /// free text). `prompts`: the user's own prompt set for task `custom`.
    LoadUrl { url: String, task: String, extras: RealExtras },
    /// Load model files chosen with the file picker: one GGUF file or a
    /// Hugging Face model's files. A `File` cannot pass through serde: the
    /// files ride beside this message, as its JS object's `files` array.
    LoadFiles { task: String, extras: RealExtras },
    /// Choose the backend for the loaded model; the worker answers with
    /// `FromWorker::Backend`.
    SetBackend { backend: Backend },
    /// Forget every downloaded model the browser keeps (the Cache API
    /// store); the worker answers `FromWorker::ModelsForgotten`.
    ForgetModels,
}

/// The user's own prompt set as the page sends it: a JSONL file's name and text.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PromptsFile {
    pub name: String,
    pub text: String,
}

/// What a real model loads with besides its weights: the user's own prompt
/// set (task `custom`) and a LoRA adapter merged into the weights.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RealExtras {
    pub prompts: Option<CustomPrompts>,
    pub adapter: Option<AdapterFiles>,
}

/// The user's own prompt set (`tasks::prompt_set::PromptSet::custom`): the
/// training file, optionally a file of evaluation prompts (every line held
/// out), else the share held out of the lines without a split of their own.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CustomPrompts {
    pub train: PromptsFile,
    pub eval: Option<PromptsFile>,
    pub eval_share: f64,
}

/// A PEFT LoRA adapter folder's two files (`model::peft`), as chosen in the
/// page. Bytes cross the worker boundary as a `Uint8Array` (serde_bytes).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AdapterFiles {
    #[serde(with = "serde_bytes")]
    pub config: Vec<u8>,
    #[serde(with = "serde_bytes")]
    pub weights: Vec<u8>,
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
    /// A real (GGUF / Hugging Face) model rather than a built-in one.
    pub real: bool,
    /// How the matrix weights are held (e.g. "q8 (decoding) x 211").
    pub weights: String,
    /// Bytes of the model file.
    pub file_bytes: usize,
    /// Where the bytes came from: "built-in", a download (kept in the
    /// browser or not, `download::origin_of_download`), "browser cache", "file".
    pub origin: String,
    /// The task as exports name it: the task's name, or for the user's own
    /// prompt set its file name, size and SHA-256.
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

/// A file the page offers for download.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Download {
    /// The JSON report: exactly what `sharpen <command> --json` prints.
    Json,
    /// One row per sample.
    Samples,
    /// One row per evaluated step.
    Steps,
    /// The best-of-N dataset, prompt/completion JSONL.
    Dataset,
    /// A trained LoRA adapter's `adapter_config.json` (PEFT layout).
    AdapterConfig,
    /// A trained LoRA adapter's `adapter_model.safetensors` (PEFT layout).
    AdapterWeights,
}

impl Download {
    pub const ALL: [Download; 6] = [Download::Json, Download::Samples, Download::Steps, Download::Dataset, Download::AdapterConfig, Download::AdapterWeights];

    pub fn key(self) -> &'static str {
        match self {
            Download::Json => "json",
            Download::Samples => "samples",
            Download::Steps => "steps",
            Download::Dataset => "dataset",
            Download::AdapterConfig => "adapter-config",
            Download::AdapterWeights => "adapter-weights",
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.key() == key)
    }

    /// The button's label.
    pub fn label(self) -> &'static str {
        match self {
            Download::Json => "JSON report",
            Download::Samples => "CSV (samples)",
            Download::Steps => "CSV (steps)",
            Download::Dataset => "JSONL (best-of-N dataset)",
            Download::AdapterConfig => "adapter_config.json (LoRA)",
            Download::AdapterWeights => "adapter_model.safetensors (LoRA)",
        }
    }

    /// `(file name suffix, MIME type)`; the adapter's two files keep PEFT's
    /// names after the stem, so saved into one folder they load with
    /// `--adapter` and `peft` once the stem is removed.
    pub fn file_type(self) -> (&'static str, &'static str) {
        match self {
            Download::Json => (".json", "application/json"),
            Download::Samples => ("-samples.csv", "text/csv"),
            Download::Steps => ("-steps.csv", "text/csv"),
            Download::Dataset => ("-bon-dataset.jsonl", "application/jsonl"),
            Download::AdapterConfig => ("-adapter_config.json", "application/json"),
            Download::AdapterWeights => ("-adapter_model.safetensors", "application/octet-stream"),
        }
    }
}

/// Texts the page offers for download, each stamped with the provenance
/// (an empty text is not offered).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Exports {
    /// File stem, e.g. "sharpening-bon-add-seed0".
    pub stem: String,
    pub json: String,
    pub samples_csv: String,
    pub steps_csv: String,
    pub dataset_jsonl: String,
    /// A LoRA run's adapter (`model::peft::Adapter::to_peft`): config, weights.
    pub adapter_config: String,
    #[serde(with = "serde_bytes")]
    pub adapter_weights: Vec<u8>,
    /// The provenance line of chart footers (`report::stamp`).
    pub stamp: String,
}

impl Exports {
    /// The bytes of download `d`.
    pub fn bytes(&self, d: Download) -> &[u8] {
        match d {
            Download::Json => self.json.as_bytes(),
            Download::Samples => self.samples_csv.as_bytes(),
            Download::Steps => self.steps_csv.as_bytes(),
            Download::Dataset => self.dataset_jsonl.as_bytes(),
            Download::AdapterConfig => self.adapter_config.as_bytes(),
            Download::AdapterWeights => &self.adapter_weights,
        }
    }

    /// The downloads this run offers.
    pub fn offered(&self) -> impl Iterator<Item = Download> + '_ {
        Download::ALL.into_iter().filter(|&d| !self.bytes(d).is_empty())
    }
}

/// A speed measurement's result.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Speed {
    /// Sampling speed of a built-in model (N = 64, as `sharpen bench`).
    Sampling { tokens_per_s: f64, tokens: usize, seconds: f64 },
    /// Decoding speed of a real model at batch 1 and N = 16 (as `sharpen
    /// bench --model`): `(batch, tokens/s)` pairs and the prefill time; and
    /// a LoRA step, plain and as SFT-Sharpening runs it (`sharpen bench --lora`).
    Decoding { rows: Vec<(usize, f64)>, new_tokens: usize, prefill_ms: f64, lora: Option<crate::sharpen::lora_sft::speed::LoraSpeed> },
}

impl Speed {
    /// The sentence the page shows.
    pub fn text(&self) -> String {
        match self {
            Speed::Sampling { tokens_per_s, tokens, seconds } => format!(
                "sampling at N = 64 in this page: {tokens_per_s:.0} tokens/s ({tokens} tokens per round, {:.0} ms per round, fastest third of rounds over 2 s)",
                seconds * 1e3
            ),
            Speed::Decoding { rows, new_tokens, prefill_ms, lora } => {
                let parts: Vec<String> = rows.iter().map(|(n, t)| format!("{t:.1} tokens/s at batch {n}")).collect();
                let mut t = format!(
                    "decoding in this page: {} ({new_tokens} new tokens per row at temperature 1, prefill excluded: {prefill_ms:.0} ms; fastest third of runs)",
                    parts.join(", ")
                );
                if let Some(l) = lora {
                    if let (Some(plain), Some(fast)) = (l.variants.first(), l.variants.last()) {
                        t.push_str(&format!(
                            "; a LoRA step at batch {} ({} tokens per example, {} of them answer): {:.2} s as SFT-Sharpening runs it (adapters on the top {} of {} blocks), {:.2} s plain ({:.1}x; one step each, after a warm-up step where a step takes under 1 s)",
                            l.batch, l.tokens, l.answer_tokens, fast.ms / 1e3, l.layers, l.blocks, plain.ms / 1e3, fast.speedup
                        ));
                    }
                }
                t
            }
        }
    }
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
    /// An experiment finished.
    Done { experiment: Experiment, outcome: Box<Outcome>, exports: Exports },
    Speed(Speed),
    /// Which backend runs and why (after `SetBackend`, or after a GPU fault
    /// that fell back to the CPU).
    Backend { gpu: bool, text: String },
    /// The downloaded model files the browser kept were forgotten (how many).
    ModelsForgotten { files: usize },
    /// A run or load failed; the message is for people.
    Failed { message: String },
}
