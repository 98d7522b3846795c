//! The theory view: the closed-form RLHF optimum `pi_base^(1+1/beta)` (a
//! sequence-level temperature) beside token-level sampling at the same
//! temperature for one prompt, where greedy decoding misses `y*` (Prop. E.2),
//! and the task's generation-verification gap.

use super::bar_chart::{answer_row, BarChart};
use super::html::{cell, figure, num3, para, table};
use super::svg::{BLUE, GREEN, ORANGE};
use crate::sharpen::closed_form::ClosedFormReport;
use crate::sharpen::gap::GapReport;

pub const COMPARE_CHART: &str = "theory-compare";

/// Rows of the greedy-misses table (the count says how many there are).
const MISSES_SHOWN: usize = 12;

pub fn theory_html(c: &ClosedFormReport, g: &GapReport, stamp: &str) -> String {
    let rows = c
        .rows
        .iter()
        .take(10)
        .map(|r| answer_row(&r.text, vec![r.p_base, r.p_closed_form, r.p_token_temp], Some(&r.text) == c.y_star.as_ref(), r.correct))
        .collect();
    let chart = BarChart {
        id: COMPARE_CHART.into(),
        title: format!("Answers to {}: sequence vs token temperature", c.prompt),
        x_label: "probability (exact)".into(),
        series: vec![
            ("pi_base".into(), ORANGE),
            (format!("pi*: pi_base^{:.2}", 1.0 + 1.0 / c.beta), GREEN),
            (format!("tokens at T={:.2}", c.tau), BLUE),
        ],
        rows,
        x_max: Some(1.0),
        note: format!("KL(token-level || pi*) = {:.4} nats; greedy answer {:?}", c.kl_token_to_closed_form, c.greedy),
        stamp: stamp.into(),
    };
    let mut o = para(&format!(
        "RLHF-Sharpening's optimum with KL weight beta = {} is pi*(y|x) ∝ pi_base(y|x)^(1+1/beta): a temperature of {:.3} applied to whole answers. Sampling each token at that temperature is a different distribution (it renormalises at every token). Correct answer {}.",
        c.beta, c.tau, c.answer
    ));
    o.push_str(&figure(
        COMPARE_CHART,
        &chart.render(),
        "Exact distributions of complete answers: the base model (orange), the closed-form optimum (green) and token-level sampling at the same temperature (blue). The correct answer is bold.",
    ));
    o.push_str(&para(&format!(
        "Over the task's first {} prompts, KL(token-level || pi*) averages {:.4} nats and is largest ({:.4}) at {}. Greedy decoding returns y* for this prompt: {}. It misses y* on {} of those {} prompts (Prop. E.2: greedy is a token-level heuristic).",
        c.scanned, c.kl_token_scan_mean, c.kl_token_scan_max, c.kl_token_scan_max_prompt,
        if c.greedy_is_y_star { "yes" } else { "no" }, c.greedy_misses.len(), c.scanned
    )));
    if !c.greedy_misses.is_empty() {
        let rows: Vec<Vec<String>> = c
            .greedy_misses
            .iter()
            .take(MISSES_SHOWN)
            .map(|m| vec![format!("<code>{}</code>", cell(&m.prompt)), cell(&m.y_star), num3(Some(m.p_star)), cell(&m.greedy), num3(Some(m.p_greedy))])
            .collect();
        o.push_str(&table(&format!("Prompts where greedy decoding misses y* (exact probabilities){}", if c.greedy_misses.len() > MISSES_SHOWN { format!(": the first {MISSES_SHOWN} of {}", c.greedy_misses.len()) } else { String::new() }), &["prompt", "y*", "pi(y*)", "greedy", "pi(greedy)"], &rows));
    }
    o.push_str(&para(&format!(
        "Generation-verification gap on task {} ({} prompts, exact over enumerated answers): a sample is right with probability {:.3}; the model's own verifier (log P(Y) for \"x y?\") ranks a right answer above a wrong one with AUC {:.3}; reweighting its answers by P(Y) gives accuracy {:.3}, a gap of {:+.3} ({:+.3} of the room left).",
        g.task, g.prompts, g.sample_accuracy, g.verifier_auc, g.reweighted_accuracy, g.gap, g.relative_gap
    )));
    o.push_str(&table(
        "Generation vs self-verification (Mind the Gap, arXiv 2412.02674); exact",
        &["task", "sample accuracy", "verifier AUC", "reweighted accuracy", "gap", "relative gap"],
        &[vec![cell(&g.task), num3(Some(g.sample_accuracy)), num3(Some(g.verifier_auc)), num3(Some(g.reweighted_accuracy)), format!("{:+.3}", g.gap), format!("{:+.3}", g.relative_gap)]],
    ));
    o
}
