//! SFT- and RLHF-Sharpening (one view for both), live: per-step curves of
//! the exact metrics (for RLHF also the distance to the closed form), the
//! watched prompt's answer distribution morphing from the base model to the
//! current step (for RLHF beside the closed-form optimum), and the prompts
//! where sharpening amplified a wrong mode.

use crate::sharpen::eval::Target;
use super::bar_chart::{answer_row, BarChart};
use super::html::{cell, figure, num3, para, table};
use super::line_chart::{LineChart, Series};
use crate::app::protocol::Watched;
use super::svg::{BLACK, BLUE, GREEN, ORANGE, PURPLE, SKY, VERMILLION};
use crate::sharpen::sft::{StepMetrics, WrongMode};

pub const PROB_CHART: &str = "sft-probabilities";
pub const NATS_CHART: &str = "sft-nats";
pub const MORPH_CHART: &str = "sft-morph";

/// What the SFT view shows: the steps so far, the watched prompt at each
/// evaluation, which evaluation the morph chart shows, and the final report.
pub struct TrainingView<'a> {
    pub steps: &'a [StepMetrics],
    /// RLHF: `KL(pi || pi*_beta)` per evaluation (empty for SFT).
    pub kl_closed_form: &'a [f64],
    pub watched: &'a [Watched],
    pub shown: usize,
    /// The morph chart plays through the evaluations.
    pub playing: bool,
    pub total_steps: usize,
    /// What the sharpened share counts (Def. 3.1, or F.1 with gamma).
    pub target: Target,
    /// A sentence about the finished run (None while it runs).
    pub summary: Option<String>,
    /// The finished run's wrong-mode prompts.
    pub wrong_mode: Option<&'a [WrongMode]>,
    pub stamp: &'a str,
}

fn line(name: &str, steps: &[StepMetrics], color: &'static str, dash: Option<&'static str>, f: impl Fn(&StepMetrics) -> Option<f64>) -> Series {
    Series {
        name: name.into(),
        points: steps.iter().map(|s| (s.step as f64, f(s).unwrap_or(f64::NAN))).collect(),
        color,
        dash,
        markers: steps.len() <= 30,
    }
}

/// The morph chart: base (first evaluation) against evaluation `shown`, over
/// the union of both distributions' listed answers, most likely in the base first.
pub fn morph_chart(v: &TrainingView) -> Option<String> {
    let base = v.watched.first()?;
    let k = v.shown.min(v.watched.len() - 1);
    let cur = &v.watched[k];
    let step = v.steps.get(k).map_or(0, |s| s.step);
    let mut labels: Vec<(&str, bool)> = base.rows.iter().take(8).map(|a| (a.text.as_str(), a.correct)).collect();
    for a in cur.rows.iter().take(8) {
        if !labels.iter().any(|l| l.0 == a.text) {
            labels.push((a.text.as_str(), a.correct));
        }
    }
    let p = |rows: &[crate::sharpen::explore::AnswerRow], t: &str| rows.iter().find(|a| a.text == t).map_or(0.0, |a| a.p);
    let y_star = base.rows.first().map(|a| a.text.as_str());
    let cf = &base.closed_form;
    let rows = labels
        .iter()
        .map(|&(t, ok)| {
            let mut v = vec![p(&base.rows, t), p(&cur.rows, t)];
            if !cf.is_empty() {
                v.push(p(cf, t));
            }
            answer_row(t, v, Some(t) == y_star, ok)
        })
        .collect();
    let mut series = vec![("base model".to_string(), ORANGE), (format!("after step {step}"), BLUE)];
    if !cf.is_empty() {
        series.push(("closed form pi*".into(), GREEN));
    }
    let chart = BarChart {
        id: MORPH_CHART.into(),
        title: format!("Answers to {}: base vs step {step}", base.prompt),
        x_label: "probability (exact)".into(),
        series,
        rows,
        x_max: Some(1.0),
        note: format!("correct answer {}; bars are exact probabilities of complete answers", base.answer),
        stamp: v.stamp.into(),
    };
    Some(chart.render())
}

/// The morph slider's label: which evaluation the chart shows.
pub fn morph_label(v: &TrainingView) -> String {
    let k = v.shown.min(v.watched.len().saturating_sub(1));
    let step = v.steps.get(k).map_or(0, |s| s.step);
    format!("Distribution after step {step} (evaluation {} of {}): Play shows the mass moving from the base model", k + 1, v.watched.len())
}

pub fn training_html(v: &TrainingView) -> String {
    let mut o = String::new();
    let last = v.steps.last();
    o.push_str(&para(&format!(
        "Step {} of {}. All curves are exact over each prompt's enumerated answers (means over the training prompts), evaluated every few steps on the model being trained; pi(y*) is the probability of the base model's most likely answer. Expectations, entropy and KL are sums over the listed answers ({} of the mass at the last evaluation; the rest is left out of all of them alike).",
        last.map_or(0, |s| s.step),
        v.total_steps,
        last.map_or("–".to_string(), |s| format!("{:.4}", s.listed_mass))
    )));
    let x_max = v.total_steps as f64;
    let pad = |mut s: Series| {
        if v.steps.len() == 1 {
            s.points.push((x_max.max(1.0), f64::NAN));
        }
        s
    };
    let probs = LineChart {
        id: PROB_CHART.into(),
        title: "Sharpening: probabilities per step".into(),
        x_label: "training step".into(),
        y_label: "probability / share".into(),
        log2_x: false,
        log2_y: false,
        y_range: Some((0.0, 1.0)),
        series: vec![
            pad(line("pi(y*) mean", v.steps, BLUE, None, |s| Some(s.p_star))),
            line("accuracy (P[sample correct])", v.steps, GREEN, None, |s| Some(s.accuracy)),
            line("accuracy on marked prompts", v.steps, ORANGE, Some("6 4"), |s| s.accuracy_marked),
            line(if v.target.gamma > 0.0 { "sharpened share, y*_gamma (Def. F.1)" } else { "sharpened share (Def. 3.1)" }, v.steps, PURPLE, Some("2 3"), |s| Some(s.sharpened)),
            line("pi(y*) where y* is wrong", v.steps, VERMILLION, Some("8 3 2 3"), |s| s.p_star_wrong),
        ],
        stamp: v.stamp.into(),
    };
    o.push_str(&figure(
        PROB_CHART,
        &probs.render(),
        &format!(
            "{} {}.",
            if v.kl_closed_form.is_empty() {
                "Exact means over the training prompts: pi(y*) rises towards 1 as the model sharpens; accuracy follows it where y* is right and falls on marked prompts, where y* is a systematic error;"
            } else {
                "Exact means over the prompt set: pi(y*) rises towards its value under the closed form pi_base^(1+1/beta) (all the way to 1 only as beta -> 0); accuracy follows where y* is right and falls on marked prompts;"
            },
            v.target.meaning()
        ),
    ));
    let nats = LineChart {
        id: NATS_CHART.into(),
        title: "Self-reward, entropy and KL per step".into(),
        x_label: "training step".into(),
        y_label: "nats".into(),
        log2_x: false,
        log2_y: false,
        y_range: None,
        series: vec![
            pad(line("mean log pi_base(y|x) of pi's answers", v.steps, BLUE, None, |s| Some(s.mean_logp_base))),
            line("entropy of the answer distribution", v.steps, ORANGE, Some("6 4"), |s| Some(s.entropy)),
            line("KL(pi || pi_base)", v.steps, BLACK, Some("2 3"), |s| Some(s.kl)),
            line(if v.kl_closed_form.is_empty() { "training loss (nats per token)" } else { "training loss (Eq. 8, squared nats)" }, v.steps, SKY, Some("8 3 2 3"), |s| s.loss),
        ]
        .into_iter()
        .chain((!v.kl_closed_form.is_empty()).then(|| Series {
            name: "KL(pi || pi*_beta), closed form".into(),
            points: v.steps.iter().zip(v.kl_closed_form).map(|(s, k)| (s.step as f64, *k)).collect(),
            color: PURPLE,
            dash: None,
            markers: v.steps.len() <= 30,
        }))
        .collect(),
        stamp: v.stamp.into(),
    };
    o.push_str(&figure(
        NATS_CHART,
        &nats.render(),
        "Exact per-step means, in nats: sharpening raises the self-reward E[log pi_base(y|x)] and lowers the entropy, at the cost of moving away from the base model (KL).",
    ));
    if let Some(svg) = morph_chart(v) {
        let k = v.shown.min(v.watched.len() - 1);
        o.push_str(&format!(
            "<div class=\"control slider\"><label id=\"morph-label\" for=\"morph-step\">{}</label>\
<div class=\"play-row\"><button type=\"button\" id=\"morph-play\" data-action=\"play\" aria-pressed=\"{}\">{}</button>\
<input id=\"morph-step\" type=\"range\" min=\"0\" max=\"{}\" value=\"{k}\" data-action=\"morph\"/></div></div>",
            morph_label(v),
            v.playing,
            if v.playing { "Pause" } else { "Play" },
            v.watched.len() - 1
        ));
        o.push_str(&figure(
            MORPH_CHART,
            &svg,
            if v.kl_closed_form.is_empty() {
                "The watched prompt's exact answer distribution, base model (orange) against the model after the chosen step (blue): mass moves onto y*, right or wrong."
            } else {
                "The watched prompt's exact answer distribution: base model (orange), the model after the chosen step (blue) and the closed-form optimum pi*_beta ∝ pi_base^(1+1/beta) (green) it converges to."
            },
        ));
    }
    if let Some(summary) = &v.summary {
        o.push_str(&para(summary));
    }
    if let Some(wm) = v.wrong_mode {
        let rows: Vec<Vec<String>> = wm
            .iter()
            .map(|w| {
                vec![
                    format!("<code>{}</code>", cell(&w.prompt)), cell(&w.answer), cell(&w.y_star),
                    if w.marked { "yes".into() } else { "no".into() }, num3(Some(w.p_base)), num3(Some(w.p_final)),
                ]
            })
            .collect();
        o.push_str(&table(
            &format!("Amplified errors: the {} training prompts whose most likely answer y* is wrong, pi(y*) before and after training (exact)", rows.len()),
            &["prompt", "correct", "y* (wrong)", "marked", "pi(y*) base", "pi(y*) final"],
            &rows,
        ));
    }
    o
}

/// The sentence that says on how many prompts `y*` is not certified (empty when none).
pub fn uncertified_note(n: usize) -> String {
    if n == 0 {
        return String::new();
    }
    format!(" On {n} prompts the base enumeration's unlisted mass is at least pi_base(y*), so y* is not certified as the most likely answer there.")
}

/// The summary under a finished RLHF-Sharpening run: what was drawn, where it
/// ended, and what the online variant is.
pub fn rlhf_summary(r: &crate::sharpen::RlhfReport) -> String {
    let last = r.steps.last();
    let drawn = match last {
        Some(s) if r.online => format!("{} samples drawn from pi_base and {} from the model being trained", s.samples_drawn, s.samples_policy),
        Some(s) => format!("{} samples drawn from pi_base", s.samples_drawn),
        None => "no samples drawn".into(),
    };
    let online = if !r.online {
        String::new()
    } else if r.alpha == 0.0 {
        " Online with alpha = 0: there is no optimism term, so nothing pushes the model to explore. The online variant is a one-step stochastic approximation of Alg. 1 (fresh pairs each step; Alg. 1 refits on every triple drawn so far).".into()
    } else {
        format!(" Online (alpha = {} on the paper's scale) is a one-step stochastic approximation of Alg. 1: fresh pairs each step and one AdamW step on them, where Alg. 1 refits on every triple drawn so far.", r.alpha)
    };
    format!(
        "{} prompts, C_cov {:.2} (exact); {drawn}; final KL(pi || pi*_beta) = {:.4} nats (exact over listed answers); {} pairs skipped (an answer was cut off); {} prompts whose y* is wrong.{online}{}",
        r.prompts,
        r.c_cov,
        last.map_or(f64::NAN, |s| s.kl_to_closed_form),
        r.skipped_pairs,
        r.wrong_mode_prompts,
        uncertified_note(r.uncertified_prompts)
    )
}
