//! A loaded model and its task: built from a built-in model's files, a GGUF
//! file or a Hugging Face folder's files (bytes, never paths), with the facts
//! the page shows and the provenance every export carries.

use super::protocol::{ModelInfo, PromptsFile};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::report::Provenance;
use crate::tasks::{self, Task};

/// A loaded model and its task.
pub struct Session {
    pub model: Model,
    pub task: Box<dyn Task>,
    pub info: ModelInfo,
}

/// Builds a session from a built-in model's files.
pub fn load(task_name: &str, config: &[u8], weights: &[u8], tokenizer: &[u8], load_ms: f64) -> Result<Session> {
    let task = tasks::by_name(task_name)?;
    let model = Model::from_bytes(config, weights, tokenizer)?;
    let info = ModelInfo {
        task: task.name().into(),
        source: format!("built-in {}", task.name()),
        sha256: model.weights_sha256.clone(),
        num_params: model.llama.config().num_params(),
        description: task.description().into(),
        max_new_tokens: task.max_answer_tokens() + 1,
        first_prompt: task.problem(0).prompt,
        load_ms,
        real: false,
        weights: model.llama.weights_kind(),
        file_bytes: weights.len(),
        origin: "built-in".into(),
        task_label: task.name().into(),
    };
    Ok(Session { model, task, info })
}

/// A real model's task and the label its exports carry: a shipped prompt
/// set, a built-in task's prompts answered in free text, or `custom`: the
/// user's own JSONL file (one `{"prompt", "answer"}` per line, as
/// `sharpen bon --prompts FILE.jsonl` reads), labelled with its name, size
/// and SHA-256 so an export says which prompts it ran on.
pub fn real_task(task_name: &str, prompts: Option<&PromptsFile>) -> Result<(Box<dyn Task>, String)> {
    if task_name == "custom" {
        let Some(f) = prompts else {
            return Err(Error::Param(
                "task \"custom\" is your own prompt set: choose its JSONL file (one {\"prompt\": ..., \"answer\": ...} per line) below the controls; a file is not part of the link".into(),
            ));
        };
        let set = crate::tasks::prompt_set::PromptSet::from_jsonl("custom", &f.text, 48).map_err(|e| Error::Param(format!("{}: {e}", f.name)))?;
        let sha = crate::model::bundle::sha256_hex(f.text.as_bytes());
        let label = format!("custom ({}, {} prompts, sha256 {})", f.name, set.num_problems(), &sha[..16]);
        return Ok((Box::new(set), label));
    }
    let task = tasks::by_name(task_name)?;
    let task: Box<dyn Task> = if task.enumerable() { Box::new(tasks::FreeText(task)) } else { task };
    Ok((task, task_name.to_string()))
}

/// Builds a session from a GGUF file's bytes (`name`: the file name or URL it
/// came from) and a task from [`real_task`]. Refuses a model larger than
/// `memory_budget` bytes (file + f32 weights + 8-bit copies) before
/// allocating any weight.
pub fn load_real(name: &str, bytes: &[u8], task: (Box<dyn Task>, String), memory_budget: usize, origin: &str) -> Result<Session> {
    fits(name, crate::model::gguf::memory_needed(bytes)?, memory_budget)?;
    let model = crate::model::gguf::load_gguf(bytes, crate::model::gguf::Weights::Quantized)?;
    real_session(name, model, bytes.len(), task, origin)
}

/// A Hugging Face model's files, by name.
pub struct HfFiles {
    pub config: Vec<u8>,
    pub weights: Vec<u8>,
    pub tokenizer: Vec<u8>,
    pub tokenizer_config: Option<Vec<u8>>,
}

impl HfFiles {
    /// The files from (name, bytes) pairs: config.json, model.safetensors and
    /// tokenizer.json are required, tokenizer_config.json is optional; a
    /// missing one is an error naming it.
    pub fn from_named(mut files: Vec<(String, Vec<u8>)>) -> Result<Self> {
        let mut take = |f: &str| files.iter().position(|(n, _)| n == f).map(|i| files.swap_remove(i).1);
        let (config, weights, tokenizer, tokenizer_config) = (take("config.json"), take("model.safetensors"), take("tokenizer.json"), take("tokenizer_config.json"));
        let missing: Vec<&str> = [("config.json", config.is_none()), ("model.safetensors", weights.is_none()), ("tokenizer.json", tokenizer.is_none())]
            .iter()
            .filter(|(_, m)| *m)
            .map(|(n, _)| *n)
            .collect();
        match (config, weights, tokenizer) {
            (Some(config), Some(weights), Some(tokenizer)) => Ok(Self { config, weights, tokenizer, tokenizer_config }),
            _ => Err(Error::Weights(format!(
                "a Hugging Face model needs config.json, model.safetensors and tokenizer.json (and tokenizer_config.json for its chat template); missing: {}",
                missing.join(", ")
            ))),
        }
    }
}

/// A real model from a Hugging Face folder's files (safetensors weights as f32).
pub fn load_real_hf(name: &str, files: &HfFiles, task: (Box<dyn Task>, String), memory_budget: usize, origin: &str) -> Result<Session> {
    fits(name, crate::model::bundle::safetensors_memory_needed(&files.weights)?, memory_budget)?;
    let model = Model::from_hf_files(&files.config, &files.weights, &files.tokenizer, files.tokenizer_config.as_deref())?;
    real_session(name, model, files.weights.len(), task, origin)
}

fn fits(name: &str, need: usize, memory_budget: usize) -> Result<()> {
    if need > memory_budget {
        return Err(Error::Weights(format!(
            "{name} needs about {} MB of memory here (file, f32 weights and 8-bit copies); this page can use {} MB — use the command line (`sharpen --model`) for it",
            need >> 20,
            memory_budget >> 20
        )));
    }
    Ok(())
}

fn real_session(name: &str, model: Model, file_bytes: usize, task: (Box<dyn Task>, String), origin: &str) -> Result<Session> {
    let (task, label) = task;
    let info = ModelInfo {
        task: task.name().into(),
        source: name.into(),
        sha256: model.weights_sha256.clone(),
        num_params: model.llama.config().num_params(),
        description: task.description().into(),
        max_new_tokens: task.max_answer_tokens() + 1,
        first_prompt: task.problem(0).prompt,
        load_ms: 0.0,
        real: true,
        weights: model.llama.weights_kind(),
        file_bytes,
        origin: origin.into(),
        task_label: label,
    };
    Ok(Session { model, task, info })
}

impl Session {
    /// The provenance of a run of `command` with `seed` on this session.
    pub fn provenance(&self, command: &str, seed: u64) -> Provenance {
        provenance(&self.info, command, seed)
    }
}

/// The provenance of a run of `command` with `seed` on the model `info`
/// describes (also the page's stamp of a run still streaming in).
pub fn provenance(info: &ModelInfo, command: &str, seed: u64) -> Provenance {
    Provenance { command: command.into(), task: info.task_label.clone(), model: info.source.clone(), model_sha256: info.sha256.clone(), seed }
}
