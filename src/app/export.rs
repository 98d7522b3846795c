//! Export files: CSV (one row per sample or per step) and the best-of-N dataset
//! as prompt/completion JSONL, each stamped with version, parameters, seed and
//! model hash. CSV files start with `#` comment lines (pandas:
//! `read_csv(f, comment="#")`); every JSONL line carries a `meta` object.

use serde_json::{json, Value};

use crate::reward::Judged;
use crate::report::{stamp, Provenance};
use crate::sharpen::sft::{DatasetRow, StepMetrics};

/// Quotes a CSV field when it needs it (RFC 4180).
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv_head(p: &Provenance, params: &Value, header: &[&str]) -> String {
    format!("# {}\n{}\n", stamp(p, &format!("params {params}")), header.join(","))
}

/// File stem for a run's exports.
pub fn stem(p: &Provenance) -> String {
    // A user's prompt set is labelled "custom (file, n prompts, sha256 ...)": the stem keeps "custom".
    let task = p.task.split_whitespace().next().unwrap_or("task");
    format!("sharpening-{}-{}-seed{}", p.command, task, p.seed)
}

/// A prompt's samples as CSV rows.
pub struct PromptSamples<'a> {
    pub index: usize,
    pub prompt: &'a str,
    pub answer: &'a str,
    pub marked: bool,
    pub samples: &'a [Judged],
}

pub fn samples_csv(p: &Provenance, params: &Value, prompts: &[PromptSamples]) -> String {
    let mut o = csv_head(
        p,
        params,
        &["prompt_index", "prompt", "correct_answer", "marked", "sample", "response", "complete", "oracle_correct", "logp_base", "logp_norm", "self_verify_logp_yes"],
    );
    for q in prompts {
        for (j, s) in q.samples.iter().enumerate() {
            let row = [
                q.index.to_string(),
                csv_field(q.prompt),
                csv_field(q.answer),
                q.marked.to_string(),
                j.to_string(),
                csv_field(&s.text),
                s.complete.to_string(),
                s.correct.to_string(),
                s.logp_base.to_string(),
                s.logp_norm.to_string(),
                s.verify.to_string(),
            ];
            o.push_str(&row.join(","));
            o.push('\n');
        }
    }
    o
}

fn opt(v: Option<f64>) -> String {
    v.map_or(String::new(), |x| x.to_string())
}

/// One row per evaluated step; RLHF adds `kl_to_closed_form` and `samples_drawn`
/// (`extra[i]` for step `i`).
pub fn steps_csv(p: &Provenance, params: &Value, steps: &[StepMetrics], extra: Option<&[(f64, usize)]>) -> String {
    let mut head = vec!["step", "loss", "p_star", "sharpened", "accuracy", "accuracy_marked", "p_star_wrong", "mean_logp_base", "entropy", "kl"];
    if extra.is_some() {
        head.extend(["kl_to_closed_form", "samples_drawn"]);
    }
    let mut o = csv_head(p, params, &head);
    for (i, s) in steps.iter().enumerate() {
        let row = [
            s.step.to_string(),
            opt(s.loss),
            s.p_star.to_string(),
            s.sharpened.to_string(),
            s.accuracy.to_string(),
            opt(s.accuracy_marked),
            opt(s.p_star_wrong),
            s.mean_logp_base.to_string(),
            s.entropy.to_string(),
            s.kl.to_string(),
        ];
        o.push_str(&row.join(","));
        if let Some((kl, n)) = extra.and_then(|e| e.get(i)) {
            o.push_str(&format!(",{kl},{n}"));
        }
        o.push('\n');
    }
    o
}

/// One row per LoRA training step (loss, gradient norm, wall time).
pub fn lora_steps_csv(p: &Provenance, params: &Value, steps: &[crate::sharpen::lora_sft::LoraStep]) -> String {
    let mut o = csv_head(p, params, &["step", "loss", "grad_norm", "ms"]);
    for s in steps {
        o.push_str(&format!("{},{},{},{:.1}\n", s.step, s.loss, s.grad_norm, s.ms));
    }
    o
}

/// The best-of-N dataset as JSONL: `{"prompt", "completion", "meta"}` per
/// line, the form TRL / Hugging Face `datasets` read for supervised
/// fine-tuning. `meta` holds the provenance and the oracle verdict.
pub fn dataset_jsonl(p: &Provenance, extra: &Value, rows: &[DatasetRow]) -> String {
    let mut o = String::new();
    for r in rows {
        let line = json!({
            "prompt": r.prompt,
            "completion": r.completion,
            "meta": {
                "version": crate::VERSION, "command": p.command, "task": p.task, "seed": p.seed,
                "model_sha256": p.model_sha256, "selection": extra, "oracle_correct": r.correct,
            }
        });
        o.push_str(&line.to_string());
        o.push('\n');
    }
    o
}
