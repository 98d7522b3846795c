//! The subcommands. Each parses its options, runs the library and prints a
//! table, or with `--json` one JSON object carrying the parameters, seed,
//! crate version and model weight hash.

mod backend;
mod bon;
mod complexity;
mod coverage;
mod exact;
mod explore;
mod margin;
mod rlhf;
mod score;
mod sft;
mod theory;
mod train;

pub use bon::bon;
pub use complexity::complexity;
pub use coverage::coverage;
pub use exact::exact;
pub use explore::explore;
pub use margin::margin;
pub use rlhf::rlhf;
pub use score::score;
pub use sft::sft;
pub use theory::{closed_form, efficiency, gap};
pub use train::train;

use serde_json::Value;
use sharpening_lab::report::Provenance;
use sharpening_lab::model::Model;
use sharpening_lab::sample::SampleSettings;
use sharpening_lab::tasks::{self, Task};

use crate::args::Args;

/// Library errors as one line.
pub fn fail(e: sharpening_lab::Error) -> String {
    e.to_string()
}

/// The base metrics recorded in a training card (see `sharpen::card`).
pub fn card_metrics(model: &Model, task: &dyn Task) -> sharpening_lab::Result<Value> {
    Ok(serde_json::to_value(sharpening_lab::sharpen::card::card_metrics(model, task)?).expect("metrics serialise"))
}

/// The task (`--task`, default the main task) and its model (`--model DIR`,
/// default the task's built-in model).
pub fn task_and_model(a: &Args) -> Result<(Box<dyn Task>, Model, String), String> {
    task_and_model_or(a, tasks::builtin_names()[0])
}

/// [`task_and_model`] with another default task.
pub fn task_and_model_or(a: &Args, default: &str) -> Result<(Box<dyn Task>, Model, String), String> {
    let name = a.str("task").unwrap_or_else(|| default.to_string());
    // `--prompts FILE.jsonl`: the user's own prompt set (one {"prompt", "answer"} per line).
    // `--eval-prompts FILE.jsonl`: held-out prompts of their own; otherwise
    // lines without a split are split by `--eval-fraction` (tasks::split).
    let file = |flag: &str| a.str(flag).filter(|p| p.parse::<usize>().is_err());
    let read = |f: &str| std::fs::read_to_string(f).map_err(|e| format!("cannot read {f}: {e}"));
    let task = match (file("prompts"), file("eval-prompts")) {
        (Some(train), eval) => {
            let share = a.str("eval-fraction").map(|s| s.parse::<f64>().map_err(|_| format!("--eval-fraction {s:?} is not a number"))).transpose()?;
            let eval = eval.map(|e| read(&e)).transpose()?;
            Box::new(tasks::prompt_set::PromptSet::custom(&read(&train)?, eval.as_deref(), share).map_err(fail)?) as Box<dyn Task>
        }
        (None, Some(_)) => return Err("--eval-prompts FILE needs --prompts FILE (the training prompts)".into()),
        (None, None) => tasks::by_name(&name).map_err(fail)?,
    };
    let (model, source) = match a.str("model") {
        None => match sharpening_lab::builtin::load(&name) {
            Ok(m) => (m, format!("built-in {name}")),
            Err(_) if !task.enumerable() => {
                return Err(format!("the {} prompt set is for real models: give --model FILE.gguf (see README)", task.name()))
            }
            Err(e) => return Err(fail(e)),
        },
        Some(path) => (score::load_model(a, &path)?, path),
    };
    Ok((task, model, source))
}

/// `--temperature`, `--top-k`, `--top-p`, `--max-new-tokens`.
pub fn sampling(a: &Args, task: &dyn Task) -> Result<SampleSettings, String> {
    let s = SampleSettings {
        temperature: a.get("temperature", 1.0)?,
        top_k: a.get("top-k", 0)?,
        top_p: a.get("top-p", 1.0)?,
        max_new_tokens: a.get("max-new-tokens", task.max_answer_tokens() + 1)?,
    };
    s.validate().map_err(fail)?;
    Ok(s)
}

/// The envelope every JSON output shares (`sharpening_lab::report`).
pub fn envelope(command: &str, task: &dyn Task, model: &Model, source: &str, seed: u64, params: Value, report: Value) -> Value {
    let p = Provenance {
        command: command.into(),
        task: task.name().into(),
        model: source.into(),
        model_sha256: model.weights_sha256.clone(),
        seed,
    };
    sharpening_lab::report::envelope(&p, params, report)
}

/// Prints the JSON envelope of a run.
pub fn print_json(command: &str, task: &dyn Task, model: &Model, source: &str, seed: u64, params: &impl serde::Serialize, report: &impl serde::Serialize) {
    let v = envelope(command, task, model, source, seed, serde_json::to_value(params).expect("params serialise"), serde_json::to_value(report).expect("reports serialise"));
    println!("{v}");
}

/// Prints a progress line on stderr (interactive runs only).
pub fn progress_printer(label: &'static str, quiet: bool) -> impl FnMut(usize, usize) -> bool {
    let mut last = usize::MAX;
    move |done, total| {
        if !quiet && total > 0 {
            let pct = done * 20 / total;
            if pct != last {
                last = pct;
                eprint!("\r{label}: {done}/{total}   ");
                if done == total {
                    eprintln!();
                }
            }
        }
        true
    }
}
