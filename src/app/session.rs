//! A loaded model and its task: built from a built-in model's files, a GGUF
//! file or a Hugging Face folder's files (bytes, never paths), with the facts
//! the page shows and the provenance every export carries.

use super::protocol::{AdapterFiles, CustomPrompts, ModelInfo, PromptsFile};
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
/// `sharpen bon --prompts FILE.jsonl` reads) and optionally a second file of
/// evaluation prompts, labelled with their names, split and SHA-256 so an
/// export says which prompts it ran on.
pub fn real_task(task_name: &str, prompts: Option<&CustomPrompts>) -> Result<(Box<dyn Task>, String)> {
    if task_name == "custom" {
        let Some(c) = prompts else {
            return Err(Error::Param(
                "task \"custom\" is your own prompt set: choose its JSONL file (one {\"prompt\": ..., \"answer\": ...} per line) below the controls; a file is not part of the link".into(),
            ));
        };
        let names = c.eval.as_ref().map_or_else(|| c.train.name.clone(), |e| format!("{} + {}", c.train.name, e.name));
        let set = crate::tasks::prompt_set::PromptSet::custom(&c.train.text, c.eval.as_ref().map(|e| e.text.as_str()), Some(c.eval_share))
            .map_err(|e| Error::Param(format!("{names}: {e}")))?;
        let sha = |f: &PromptsFile| crate::model::bundle::sha256_hex(f.text.as_bytes())[..16].to_string();
        let shas: Vec<String> = std::iter::once(&c.train).chain(c.eval.as_ref()).map(sha).collect();
        let held = crate::tasks::split::indices(&set).1.len();
        let split = if c.eval.is_some() { "the second file held out".to_string() } else { format!("held-out share {}", c.eval_share) };
        let label = format!("custom ({names}, {} prompts, {held} held out: {split}, sha256 {})", set.num_problems(), shas.join(" + "));
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
    /// The files of a Hugging Face model folder, `tokenizer_config.json`
    /// (its chat template) optional.
    pub const NAMES: [&'static str; 4] = ["config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"];

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

/// Memory a real model may take in the page (wasm32 addresses 4 GiB; the
/// worker's code, the page's data and the run need the rest).
pub const PAGE_MEMORY_BUDGET: usize = 3 << 30;

/// Why a model file of `bytes` cannot load in the page (before it is
/// downloaded or read), or None: with its weights expanded to f32 it needs
/// at least twice its size.
pub fn too_large_for_page(name: &str, bytes: f64) -> Option<String> {
    (bytes > (PAGE_MEMORY_BUDGET / 2) as f64).then(|| {
        format!(
            "{name} is {:.0} MB: with its weights expanded to f32 it cannot fit in the {} MB this page can use. Use the command line (`sharpen --model FILE`).",
            bytes / 1e6,
            PAGE_MEMORY_BUDGET >> 20
        )
    })
}

/// Why the page cannot load `task`'s built-in model, or None when it has one.
pub fn builtin_refusal(task: &str) -> Option<String> {
    if tasks::builtin_names().contains(&task) {
        return None;
    }
    let real = "give a GGUF model's URL in \"Model URL\" or choose a model file";
    Some(match tasks::by_name(task) {
        Err(_) if task == "custom" => format!("your own prompt set is for a real model: {real}"),
        Ok(t) => format!("the {} question set is for a real model: {real}", t.name()),
        Err(e) => e.to_string(),
    })
}

/// A real model from named files in the page's memory budget: one GGUF
/// file (any name but `*.json` / `*.safetensors`), or a Hugging Face
/// model's files. `name`: the URL or what the user chose.
/// With `adapter`, its LoRA weights are merged into the model's (as
/// `sharpen --adapter DIR`): the model's hash and source name both.
pub fn load_named(name: &str, mut named: Vec<(String, Vec<u8>)>, task: (Box<dyn Task>, String), origin: &str, adapter: Option<&AdapterFiles>) -> Result<Session> {
    let s = match named.as_slice() {
        [(n, _)] if !n.ends_with(".json") && !n.ends_with(".safetensors") => {
            let (n, bytes) = named.remove(0);
            load_real(&n, &bytes, task, PAGE_MEMORY_BUDGET, origin)?
        }
        _ => {
            let name = if named.iter().any(|(n, _)| n == "config.json") && !name.ends_with('/') { "Hugging Face files (config.json, model.safetensors, tokenizer.json)" } else { name };
            load_real_hf(name, &HfFiles::from_named(named)?, task, PAGE_MEMORY_BUDGET, origin)?
        }
    };
    match adapter {
        Some(a) => s.with_adapter(a),
        None => Ok(s),
    }
}

impl Session {
    /// This session with a PEFT LoRA adapter merged into its weights
    /// (`model::peft::Adapter::merge_into`); the source names the adapter
    /// by its hash, so exports say which adapter ran.
    pub fn with_adapter(mut self, files: &AdapterFiles) -> Result<Session> {
        let adapter = crate::model::peft::Adapter::from_peft(&files.config, &files.weights).map_err(|e| Error::Param(format!("the LoRA adapter: {e}")))?;
        let sha = crate::model::bundle::sha256_hex(&files.weights);
        self.model = adapter.merge_into(&self.model, &sha)?;
        self.info.sha256 = self.model.weights_sha256.clone();
        self.info.source = format!("{} + LoRA adapter (rank {}, {} matrices, sha256 {})", self.info.source, adapter.rank, adapter.modules.len(), &sha[..16]);
        self.info.weights = self.model.llama.weights_kind();
        Ok(self)
    }

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
