//! SFT-Sharpening of a real model with LoRA adapters: the model before and
//! after training (log-likelihood of its best-of-N answers, greedy and
//! sampled accuracy) and the training loss and step time per step.

use super::html::{cell, figure, num3, para, table};
use super::line_chart::{LineChart, Series};
use super::svg::BLUE;
use crate::sharpen::lora_sft::LoraReport;

pub const LOSS_CHART: &str = "lora-loss";

/// A 95% interval as text.
fn interval(c: [f64; 2]) -> String {
    format!("{}–{}", num3(Some(c[0])), num3(Some(c[1])))
}

/// The finished LoRA run.
pub fn lora_html(r: &LoraReport, stamp: &str) -> String {
    let mut o = para(&format!(
        "SFT-Sharpening with low-rank adapters on blocks {}–{} of the model: {} adapter weights trained over the frozen model on {} best-of-N answers from {} training prompts ({} of them correct by the oracle), then measured on {} held-out prompts it never trained on. Mean step {:.2} s in this page (forward, backward and AdamW over the batch).",
        r.adapted_layers[0],
        r.adapted_layers[1] - 1,
        r.adapter_params,
        r.dataset_size,
        r.train.prompts,
        num3(Some(r.dataset_accuracy)),
        r.eval.prompts,
        r.mean_step_ms / 1e3
    ));
    let mut rows = Vec::new();
    for (split, a) in [("held out", &r.eval), ("training", &r.train)] {
        for (when, e) in [("before", &a.before), ("after", &a.after)] {
            rows.push(vec![
                cell(&format!("{split}, {when}")),
                num3(Some(e.sample_accuracy)),
                interval(e.sample_accuracy_ci),
                num3(Some(e.greedy_accuracy)),
                num3(Some(e.sample_logp)),
                num3(Some(e.cut_off)),
            ]);
        }
        let c = &a.bon_ceiling;
        rows.push(vec![cell(&format!("{split}, base best-of-{}", c.n)), num3(Some(c.accuracy)), interval(c.ci), "–".into(), "–".into(), num3(Some(c.cut_off))]);
    }
    let samples = r.eval.before.samples;
    o.push_str(&table(
        &format!(
            "Amortisation: one sample of the fine-tuned model against the base model's best-of-N (the ceiling it amortises). Sample accuracy: an estimate from {} samples on the {} held-out prompts ({} on the {} training prompts), with its 95% Wilson interval; best-of-N accuracy: an estimate over the prompts; greedy accuracy: exact for these prompts; mean log pi(y|x) of the fresh samples under the model that drew them, nats (each exact, their mean an estimate over the same samples); cut off = share of answers that hit the token budget. Mean log pi(y_BoN|x) of the training answers: {} before, {} after (exact; SFT-Sharpening raises it).",
            samples,
            r.eval.prompts,
            r.train.before.samples,
            r.train.prompts,
            num3(r.train.before.dataset_logp),
            num3(r.train.after.dataset_logp)
        ),
        &["prompts, model", "sample accuracy", "95% interval", "greedy accuracy", "mean log pi(y|x)", "cut off"],
        &rows,
    ));
    let chart = LineChart {
        id: LOSS_CHART.into(),
        title: "LoRA training loss".into(),
        x_label: "training step".into(),
        y_label: "nats per answer token".into(),
        log2_x: false,
        log2_y: false,
        y_range: None,
        series: vec![Series {
            name: "-log pi(y_BoN|x) per token, batch mean".into(),
            points: r.steps.iter().map(|s| (s.step as f64, s.loss)).collect(),
            color: BLUE,
            dash: None,
            markers: r.steps.len() <= 30,
        }],
        stamp: stamp.into(),
    };
    if !r.steps.is_empty() {
        o.push_str(&figure(
            LOSS_CHART,
            &chart.render(),
            &format!(
                "Per step: the negative log-likelihood of the batch's best-of-N answers (exact for the batch); {} steps, {:.1}-{:.1} s each in this page (the steps CSV has every step's time).",
                r.steps.len(),
                r.steps.iter().map(|s| s.ms).fold(f64::INFINITY, f64::min) / 1e3,
                r.steps.iter().map(|s| s.ms).fold(0.0, f64::max) / 1e3
            ),
        ));
    }
    o
}
