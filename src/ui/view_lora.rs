//! SFT-Sharpening of a real model with LoRA adapters: the model before and
//! after training (log-likelihood of its best-of-N answers, greedy and
//! sampled accuracy) and the training loss and step time per step.

use super::html::{cell, figure, num3, para, table};
use super::line_chart::{LineChart, Series};
use super::svg::BLUE;
use crate::sharpen::lora_sft::LoraReport;

pub const LOSS_CHART: &str = "lora-loss";

/// The finished LoRA run; `eval_samples` = samples per prompt behind the
/// sample-accuracy estimate.
pub fn lora_html(r: &LoraReport, eval_samples: usize, stamp: &str) -> String {
    let mut o = para(&format!(
        "SFT-Sharpening with low-rank adapters: {} adapter weights trained over the frozen model on {} best-of-N answers from {} prompts ({} of them correct by the oracle). Mean step {:.1} s in this page (forward, backward and AdamW over the batch).",
        r.adapter_params,
        r.dataset_size,
        r.prompts,
        num3(Some(r.dataset_accuracy)),
        r.mean_step_ms / 1e3
    ));
    let rows: Vec<Vec<String>> = [("before", &r.before), ("after", &r.after)]
        .iter()
        .map(|(name, e)| {
            let ci = e.sample_accuracy_ci.map_or("–".into(), |c| format!("{}–{}", num3(Some(c[0])), num3(Some(c[1]))));
            vec![cell(name), num3(Some(e.dataset_logp)), num3(Some(e.greedy_accuracy)), num3(e.sample_accuracy), ci]
        })
        .collect();
    o.push_str(&table(
        &format!(
            "The model before and after training. Mean log pi(y_BoN|x) over the {} training answers in nats (exact; SFT-Sharpening raises it); greedy accuracy over the {} prompts (exact, on these prompts); sample accuracy over {} samples per prompt at the sampling settings ({} in all: an estimate, with its 95% Wilson interval).",
            r.dataset_size, r.prompts, eval_samples, eval_samples * r.prompts
        ),
        &["", "mean log pi(y_BoN|x)", "greedy accuracy", "sample accuracy", "95% interval"],
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
