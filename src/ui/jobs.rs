//! What the worker does with each message, as plain Rust: load a model from
//! bytes, run an experiment with progress, and build the exports. The wasm
//! worker (`src/web/worker.rs`) only moves bytes and messages; this file is
//! tested natively, including that its JSON equals the CLI's.

use serde_json::json;

use super::export::{dataset_jsonl, samples_csv, stem, steps_csv, PromptSamples};
use super::protocol::{Exports, FromWorker, ModelInfo, ToWorker, Watched};
use crate::error::{Error, Result};
use crate::model::{Llama, Model};
use crate::report::{envelope, Provenance};
use crate::reward::select;
use crate::sharpen::bon::choose_problems;
use crate::sharpen::explore::{answer_rows, explore, AnswerRow, ExploreParams};
use crate::sharpen::sft::DatasetRow;
use crate::sharpen::{enumerate, run_bon_full, run_sft_observed, BonParams, SftParams};
use crate::tasks::{self, is_correct, Problem, Task};
use crate::throughput::sampling_speed;

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

/// The user's own prompt set as the page sends it: a JSONL file's name and text.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct PromptsFile {
    pub name: String,
    pub text: String,
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
    pub(crate) fn provenance(&self, command: &str, seed: u64) -> Provenance {
        Provenance {
            command: command.into(),
            task: self.info.task_label.clone(),
            model: self.info.source.clone(),
            model_sha256: self.info.sha256.clone(),
            seed,
        }
    }

    /// A short line for chart footers.
    pub(crate) fn chart_stamp(&self, prov: &Provenance, what: &str) -> String {
        format!(
            "sharpening-lab {} · {} · task {} · seed {} · {} · model sha256 {}",
            crate::VERSION, prov.command, prov.task, prov.seed, what, &prov.model_sha256[..16.min(prov.model_sha256.len())]
        )
    }
}

/// A real model's decoding speed on the task's first prompt, 32 new tokens.
fn decode_bench(s: &Session, clock: &dyn Fn() -> f64) -> Result<FromWorker> {
    let prompt = s.model.tok.encode_prompt(&s.task.problem(0).prompt)?;
    let (mut rows, mut prefill_ms) = (Vec::new(), 0.0);
    for n in [1usize, 16] {
        let r = crate::throughput::decode_speed(&s.model, &prompt, n, 32, 1.0, clock)?;
        rows.push((n, r.tokens_per_s));
        prefill_ms = r.prefill_s * 1e3;
    }
    Ok(FromWorker::DecodeBench { rows, new_tokens: 32, prefill_ms })
}

/// Runs one job; `post` streams progress and intermediate results, the
/// return value is the final message (a result or `Failed`).
pub fn run(s: &Session, job: ToWorker, post: &mut dyn FnMut(FromWorker), clock: &dyn Fn() -> f64) -> FromWorker {
    // Refuse at once what needs exact distributions on free-text answers
    // (before any per-prompt work such as choosing a watched prompt).
    let exact_only = match &job {
        ToWorker::Rlhf { .. } => Some("RLHF-Sharpening"),
        ToWorker::Theory(_) => Some("the closed form and the generation-verification gap"),
        ToWorker::Efficiency(_) => Some("the sample-efficiency comparison"),
        _ => None,
    };
    if let Some(what) = exact_only {
        if let Err(e) = tasks::require_enumerable(s.task.as_ref(), what) {
            return FromWorker::Failed { message: e.to_string() };
        }
    }
    let out = match job {
        ToWorker::Load { .. } | ToWorker::LoadUrl { .. } | ToWorker::SetBackend { .. } => Err(Error::Other("loading and backends are handled by the worker".into())),
        ToWorker::Explore(p) => run_explore(s, p),
        ToWorker::Bon(p) => run_bon_job(s, p, post),
        ToWorker::Sft { params, .. } if !s.task.enumerable() => super::jobs_lora::run_lora_job(s, &params, post, clock),
        ToWorker::Sft { params, watch } => run_sft_job(s, params, &watch, post),
        ToWorker::Rlhf { params, watch } => super::jobs_theory::run_rlhf_job(s, params, &watch, post),
        ToWorker::Theory(p) => super::jobs_theory::run_theory_job(s, p),
        ToWorker::Efficiency(p) => super::jobs_theory::run_efficiency_job(s, p, post),
        ToWorker::Bench if s.info.real => decode_bench(s, clock),
        ToWorker::Bench => sampling_speed(&s.model, s.task.as_ref(), 64, 2.0, clock).map(|r| FromWorker::Bench {
            tokens_per_s: r.tokens_per_s,
            tokens: r.tokens,
            seconds: r.seconds_per_round,
        }),
    };
    out.unwrap_or_else(|e| FromWorker::Failed { message: e.to_string() })
}

/// The explorer's parameters with the default prompt filled in.
pub fn explore_params(s: &Session, mut p: ExploreParams) -> ExploreParams {
    if p.prompt.trim().is_empty() {
        p.prompt = s.info.first_prompt.clone();
    }
    p
}

fn run_explore(s: &Session, p: ExploreParams) -> Result<FromWorker> {
    let p = explore_params(s, p);
    let r = explore(&s.model, s.task.as_ref(), &p)?;
    Ok(explore_done(s, &p, r, "CPU"))
}

/// The explorer's result message with its exports (the GPU path samples
/// asynchronously, then comes here).
pub fn explore_done(s: &Session, p: &ExploreParams, r: crate::sharpen::ExploreReport, backend: &str) -> FromWorker {
    let prov = s.provenance("explore", p.seed);
    let params = json!(p);
    let q = PromptSamples { index: 0, prompt: &r.prompt, answer: &r.answer, marked: r.marked, samples: &r.samples };
    let exports = Exports {
        stem: stem(&prov),
        json: envelope(&prov, params.clone(), json!(r)).to_string(),
        samples_csv: samples_csv(&prov, &params, &[q]),
        steps_csv: String::new(),
        dataset_jsonl: String::new(),
        stamp: s.chart_stamp(&prov, &format!("prompt {} · N {} · T {} · sampled and scored on {backend}", r.prompt, p.n, p.sampling.temperature)),
    };
    FromWorker::Explored { report: r, exports }
}

fn run_bon_job(s: &Session, p: BonParams, post: &mut dyn FnMut(FromWorker)) -> Result<FromWorker> {
    let unit = bon_unit(&p);
    let run = run_bon_full(&s.model, s.task.as_ref(), &p, &mut |done, total| {
        post(FromWorker::Progress { done, total, unit: unit.clone() });
        true
    })?;
    Ok(bon_done(s, &p, run, "CPU"))
}

/// The progress unit of a best-of-N run.
pub fn bon_unit(p: &BonParams) -> String {
    format!("prompts sampled ({} answers each)", p.n.iter().copied().max().unwrap_or(1))
}

/// The page's result of a best-of-N run sampled on `backend`: report and exports.
pub fn bon_done(s: &Session, p: &BonParams, run: crate::sharpen::BonRun, backend: &str) -> FromWorker {
    let n_max = p.n.iter().copied().max().unwrap_or(1);
    let prov = s.provenance("bon", p.seed);
    let params = json!(p);
    let r = run.report;
    let prompts: Vec<PromptSamples> = r
        .per_prompt
        .iter()
        .zip(&run.samples)
        .enumerate()
        .map(|(i, (q, js))| PromptSamples { index: i, prompt: &q.prompt, answer: &q.answer, marked: q.marked, samples: js })
        .collect();
    // The dataset: each prompt's best of its first n_max samples under the first reward.
    let reward = p.rewards[0];
    let dataset: Vec<DatasetRow> = r
        .per_prompt
        .iter()
        .zip(&run.samples)
        .filter_map(|(q, js)| {
            let w = &js[select(reward, &js[..n_max])];
            w.complete.then(|| DatasetRow { prompt: q.prompt.clone(), completion: w.text.clone(), correct: w.correct })
        })
        .collect();
    let exports = Exports {
        stem: stem(&prov),
        json: envelope(&prov, params.clone(), json!(r)).to_string(),
        samples_csv: samples_csv(&prov, &params, &prompts),
        steps_csv: String::new(),
        dataset_jsonl: dataset_jsonl(&prov, &json!({"reward": reward.name(), "n": n_max}), &dataset),
        stamp: s.chart_stamp(&prov, &format!("{} prompts · N {:?} · T {} · sampled and scored on {backend}", r.prompts, p.n, p.sampling.temperature)),
    };
    FromWorker::BonDone { report: r, exports }
}

/// The watched prompt's exact distribution under the model being trained
/// (its 12 most likely answers), with the closed form for RLHF.
pub(crate) fn watched_snapshot(s: &Session, llama: &Llama, wq: &Problem, threshold: f64, closed_form: Vec<AnswerRow>) -> Result<Watched> {
    let (mut rows, _, _) = answer_rows(llama, &s.model.tok, s.task.as_ref(), wq, threshold)?;
    rows.truncate(12);
    Ok(Watched { prompt: wq.prompt.clone(), answer: wq.answer.clone(), rows, closed_form })
}

/// The watched prompt: the user's, or the first training prompt whose `y*` is wrong.
pub(crate) fn watched_problem(s: &Session, prompts: usize, seed: u64, threshold: f64, watch: &str) -> Result<Problem> {
    if !watch.trim().is_empty() {
        return s.task.parse(watch);
    }
    let problems = choose_problems(s.task.as_ref(), prompts, seed);
    let ids = problems.iter().map(|q| s.model.tok.encode_prompt(&q.prompt)).collect::<Result<Vec<_>>>()?;
    let dists = enumerate(&s.model.llama, &ids, s.model.tok.eos, s.task.max_answer_tokens(), threshold)?;
    let wrong = problems.iter().zip(&dists).position(|(q, d)| !d.y_star().is_some_and(|a| is_correct(&s.model.tok, s.task.as_ref(), q, &a.tokens)));
    Ok(problems[wrong.unwrap_or(0)].clone())
}

fn run_sft_job(s: &Session, p: SftParams, watch: &str, post: &mut dyn FnMut(FromWorker)) -> Result<FromWorker> {
    p.validate()?;
    let wq = watched_problem(s, p.prompts, p.seed, p.threshold, watch).map_err(|e| Error::Param(format!("watched prompt: {e}")))?;
    let unit = "dataset prompts + training steps".to_string();
    let run = {
        let post_cell = std::cell::RefCell::new(&mut *post);
        run_sft_observed(
            &s.model,
            s.task.as_ref(),
            &p,
            &mut |done, total| {
                (post_cell.borrow_mut())(FromWorker::Progress { done, total, unit: unit.clone() });
                true
            },
            &mut |step, llama| {
                let watched = watched_snapshot(s, llama, &wq, p.threshold, vec![])?;
                (post_cell.borrow_mut())(FromWorker::TrainEval { step: step.clone(), kl_to_closed_form: None, samples_drawn: None, watched: Some(watched) });
                Ok(())
            },
        )?
    };
    let prov = s.provenance("sft", p.seed);
    let params = json!(p);
    let r = run.report;
    let exports = Exports {
        stem: stem(&prov),
        json: envelope(&prov, params.clone(), json!(r)).to_string(),
        samples_csv: String::new(),
        steps_csv: steps_csv(&prov, &params, &r.steps, None),
        dataset_jsonl: dataset_jsonl(&prov, &json!({"reward": p.reward.name(), "n": p.n}), &run.dataset),
        stamp: s.chart_stamp(&prov, &format!("{} prompts · N {} · {} steps · lr {}", r.prompts, p.n, p.steps, p.lr)),
    };
    Ok(FromWorker::SftDone { report: r, exports })
}
