//! The best-of-N sweep's job (`sharpen::bon`), sampled and scored on the
//! chosen backend; exports = `sharpen bon --json`, one CSV row per sample
//! and the best-of-N dataset (each prompt's pick under the first reward).

use serde_json::json;

use super::finish::done;
use crate::app::export::{dataset_jsonl, samples_csv, PromptSamples};
use crate::app::protocol::{FromWorker, Outcome};
use crate::app::session::Session;
use crate::decode::Decode;
use crate::error::Result;
use crate::reward::select;
use crate::sharpen::sft::DatasetRow;
use crate::sharpen::{run_bon_on, BonParams};

/// The progress unit of a best-of-N run.
fn bon_unit(p: &BonParams) -> String {
    format!("prompts sampled ({} answers each)", p.n.iter().copied().max().unwrap_or(1))
}

pub(super) async fn run(s: &Session, p: BonParams, post: &mut dyn FnMut(FromWorker), dec: &mut dyn Decode) -> Result<FromWorker> {
    let unit = bon_unit(&p);
    let label = dec.label();
    let run = run_bon_on(
        &s.model,
        s.task.as_ref(),
        &p,
        &mut |done, total| {
            post(FromWorker::Progress { done, total, unit: unit.clone() });
            true
        },
        dec,
    )
    .await?;
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
    let samples = samples_csv(&prov, &params, &prompts);
    let dataset = dataset_jsonl(&prov, &json!({"reward": reward.name(), "n": n_max}), &dataset);
    let summary = format!("{} prompts · N {:?} · T {} · sampled and scored on {label}", r.prompts, p.n, p.sampling.temperature);
    Ok(done(&prov, &params, json!(r), &summary, Outcome::Bon(r), |ex| {
        ex.samples_csv = samples;
        ex.dataset_jsonl = dataset;
    }))
}
