//! The prompt explorer's results: the exact answer distribution beside the
//! sampled frequencies, and the table of samples with every self-reward, the
//! oracle verdict and each reward's pick.

use super::bar_chart::{answer_row, BarChart, BarRow};
use super::html::{cell, figure, para, table};
use super::svg::{BLUE, ORANGE, SKY};
use crate::sharpen::explore::ExploreReport;

pub const DIST_CHART: &str = "explore-dist";

/// A sample's tokens with their log-probabilities, folded away.
fn token_details(r: &ExploreReport, i: usize) -> String {
    let Some(toks) = r.token_logps.get(i).filter(|t| !t.is_empty()) else { return String::new() };
    let total: f64 = toks.iter().map(|t| t.logp).sum();
    let spans: String = toks
        .iter()
        .map(|t| format!("<span class=\"tok\"><code>{}</code><small>{:.2}</small></span>", cell(&t.text), t.logp))
        .collect();
    format!("<details class=\"tokens\"><summary>{} tokens, log p per token (sum {total:.3})</summary>{spans}</details>", toks.len())
}

pub fn explore_html(r: &ExploreReport, stamp: &str) -> String {
    let (temperature, seed) = (r.temperature, r.seed);
    let n = r.samples.len();
    let y_star = r.distribution.first();
    let mut o = String::new();
    let marked = if r.marked { " (a marked prompt: training made a systematic error likely here)" } else { "" };
    let y_text = y_star.map_or("(none listed)".to_string(), |a| format!("{:?}", a.text));
    let y_p = y_star.map_or(0.0, |a| a.p);
    let y_ok = if y_star.is_some_and(|a| a.correct) { "right" } else { "wrong" };
    let one = match r.sample_accuracy_base {
        Some(base) => format!("one sample at these settings (from q) is right with probability {:.3} (at temperature 1 without truncation: {base:.3})", r.sample_accuracy),
        None => format!("one sample at temperature 1 is right with probability {:.3}", r.sample_accuracy),
    };
    let ci = r.sample_accuracy_ci.map_or(String::new(), |c| format!(", 95% interval {:.3}–{:.3}", c[0], c[1]));
    o.push_str(&para(&if r.exact {
        format!(
            "Prompt {} — correct answer {}{marked}. Exact: {one}; the most likely answer y* is {y_text} (pi(y*) = {y_p:.3}, {y_ok}). Below: {n} samples at temperature {temperature}, seed {seed}.",
            r.prompt, r.answer
        )
    } else {
        format!(
            "Prompt {} — correct answer {}{marked}. Free-text answers cannot be enumerated: {:.3} of these {n} samples are right (an estimate{ci}); {} of them were cut off at the token budget (counted as wrong); the most likely answer among them is {y_text} (its exact probability {y_p:.3}, {y_ok}; the true y* may be more likely). Samples at temperature {temperature}, seed {seed}.",
            r.prompt,
            r.answer,
            r.sample_accuracy,
            r.samples.iter().filter(|s| !s.complete).count()
        )
    }));
    let rows: Vec<BarRow> = r
        .distribution
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let freq = r.samples.iter().filter(|s| s.complete && s.text == a.text).count() as f64 / n as f64;
            let mut bars = vec![a.p];
            if let Some(q) = &r.distribution_q {
                bars.push(q.get(i).copied().unwrap_or(0.0));
            }
            bars.push(freq);
            answer_row(&a.text, bars, i == 0, a.correct)
        })
        .collect();
    let mut series = vec![("exact pi_base(y|x)".to_string(), BLUE)];
    if r.distribution_q.is_some() {
        series.push(("exact q(y|x), the distribution sampled".into(), SKY));
    }
    series.push((format!("share of the {n} samples"), ORANGE));
    let chart = BarChart {
        id: DIST_CHART.into(),
        title: format!("Answers to {} ({})", r.prompt, if r.exact { "exact vs sampled" } else { "sampled answers, exact probabilities" }),
        x_label: "probability".into(),
        series,
        rows,
        x_max: Some(1.0),
        note: if r.exact {
            format!("{} answers listed; {:.4} more mass on answers not shown, {:.1e} below the enumeration threshold", r.listed, r.rest_mass, r.leftover)
        } else {
            format!("{} distinct complete answers sampled; {:.4} more mass on those not shown, {:.4} on answers never sampled", r.listed, r.rest_mass, r.leftover)
        },
        stamp: stamp.into(),
    };
    o.push_str(&figure(
        DIST_CHART,
        &chart.render(),
        &if r.exact {
            format!(
                "Blue: the model's exact probability pi_base of each complete answer (enumerated, not estimated){}; orange: how often it appeared among these {n} samples (an estimate). The correct answer is bold; entropy of pi_base {:.3} nats.",
                if r.distribution_q.is_some() { "; light blue: the exact probability q under the sampling settings (temperature, top-k, top-p), which the samples follow" } else { "" },
                r.entropy
            )
        } else {
            format!("Blue: the model's exact probability of each distinct answer that was sampled (the answers were not enumerated: most of the mass may lie on answers never drawn); orange: how often it appeared among these {n} samples (an estimate). Right answers are bold.")
        },
    ));
    let mut rows = Vec::new();
    for (i, s) in r.samples.iter().enumerate() {
        let picked: Vec<&str> = r.picks.iter().filter(|p| p.index == i).map(|p| p.reward.name()).collect();
        let f = |v: f64| if v.is_finite() { format!("{v:.3}") } else { "–".into() };
        rows.push(vec![
            (i + 1).to_string(),
            format!("<code>{}</code>{}{}", cell(&s.text), if s.complete { "" } else { " (cut off)" }, token_details(r, i)),
            f(s.logp_base),
            f(s.logp_norm),
            r.votes[i].to_string(),
            f(s.verify),
            if s.correct { "<span class=\"ok\">right</span>".into() } else { "<span class=\"bad\">wrong</span>".into() },
            picked.iter().map(|p| format!("<span class=\"pick\">{p}</span>")).collect::<Vec<_>>().join(" "),
        ]);
    }
    o.push_str(&table(
        &format!("The {n} samples: self-rewards (exact log-probabilities under the model, nats), the oracle's verdict, and which sample best-of-{n} picks under each self-reward. Open a response for each token's log-probability (one scoring pass; on a real model its sum can differ from the sampling-time log pi by a few tenths of a nat, see README)"),
        &["#", "response", "log pi(y|x)", "per token", "votes", "log P(Y) verify", "oracle", "picked by"],
        &rows,
    ));
    o
}
