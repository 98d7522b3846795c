//! Coverage vs margin: the closed form `pi_base^(1+1/beta)` swept over beta
//! (sharpened share, `pi*(y*)`, accuracy; RLHF-Sharpening trained at a few
//! beta as points), and each prompt's margin against the beta it needs.

use super::html::{figure, num3, para, table};
use super::line_chart::{LineChart, Series, MARKERS_ONLY};
use super::svg::{BLUE, GREEN, GREY, PURPLE, VERMILLION};
use crate::sharpen::margin::{MarginReport, beta_text, BETA_MAX};

pub const MARGIN_SWEEP_CHART: &str = "margin-sweep";
pub const MARGIN_SCATTER_CHART: &str = "margin-scatter";

/// Why the closed form at `beta = 1` sharpens (almost) no prompt.
fn beta1_sentence(r: &MarginReport, delta: f64) -> String {
    let need = delta / (1.0 - delta);
    let ok = r.per_prompt.iter().filter(|m| m.ratio_sum_beta1 <= need).count();
    let best = r.per_prompt.iter().min_by(|a, b| a.ratio_sum_beta1.total_cmp(&b.ratio_sum_beta1));
    let max_margin = r.per_prompt.iter().map(|m| m.margin).fold(0.0, f64::max);
    let median = {
        let mut v: Vec<f64> = r.per_prompt.iter().map(|m| m.margin).collect();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    format!(
        "Why beta = 1 sharpens {ok} of {} prompts: there pi*(y*) = 1 / (1 + sum over the other answers of (pi_base(y) / pi_base(y*))^2), so a prompt reaches 1 - delta only when that sum is at most delta / (1 - delta) = {need:.3}: with a single rival, y* must be at least {:.1} times as likely as it (margin >= {:.1}), and more with several. The smallest sum here is {:.3} ({}), the median margin gamma = pi(y*)/pi(runner-up) - 1 is {median:.2} and the largest {max_margin:.2}: the base model's answers are too close for squaring to separate them, and beta must fall to about {} before 1 - eps of the prompts are sharpened.",
        r.prompts,
        1.0 / need.sqrt(),
        1.0 / need.sqrt() - 1.0,
        best.map_or(f64::NAN, |m| m.ratio_sum_beta1),
        best.map_or("-", |m| m.prompt.as_str()),
        beta_text(r.beta_for_eps)
    )
}

pub fn margin_html(r: &MarginReport, stamp: &str) -> String {
    let (delta, eps) = (r.delta, r.eps);
    let mut o = para(&format!(
        "{} prompts, C_cov = {:.3} (Eq. 6). The closed form pi*_beta ∝ pi_base^(1+1/beta), the optimum of RLHF-Sharpening, sharpens a prompt as beta shrinks, how fast depending on the margin between y* and the rest (Assumption 4.2), not on coverage. All closed-form numbers are exact over the enumerated answers{}; delta = {delta}, eps = {eps}.",
        r.prompts,
        r.c_cov,
        if r.exact { "" } else { " (some prompts' enumerations do not certify y*)" }
    ));
    let mut series = vec![
        Series { name: "closed form: sharpened share (exact)".into(), points: r.sweep.iter().map(|s| (s.beta, s.sharpened)).collect(), color: BLUE, dash: None, markers: true },
        Series { name: "closed form: mean pi*(y*) (exact)".into(), points: r.sweep.iter().map(|s| (s.beta, s.p_star)).collect(), color: PURPLE, dash: Some("6 4"), markers: false },
        Series { name: "closed form: accuracy (exact)".into(), points: r.sweep.iter().map(|s| (s.beta, s.accuracy)).collect(), color: GREEN, dash: Some("2 3"), markers: false },
    ];
    if !r.trained.is_empty() {
        series.push(Series {
            name: format!("RLHF-Sharpening trained: sharpened share ({} steps)", r.trained[0].steps),
            points: r.trained.iter().map(|t| (t.beta, t.sharpened)).collect(),
            color: VERMILLION,
            dash: Some(MARKERS_ONLY),
            markers: true,
        });
    }
    let sweep = LineChart {
        id: MARGIN_SWEEP_CHART.into(),
        title: "The closed form against beta".into(),
        x_label: "beta".into(),
        y_label: "share / probability".into(),
        log2_x: true,
        log2_y: false,
        y_range: Some((0.0, 1.0)),
        series,
        stamp: stamp.into(),
    };
    o.push_str(&figure(
        MARGIN_SWEEP_CHART,
        &sweep.render(),
        "Sharpened share = prompts with pi*_beta(y*) >= 1 - delta (Def. 3.1), the unlisted mass counted against y*; accuracy = probability that a sample of pi*_beta is correct, which falls where y* is wrong. Red points: RLHF-Sharpening (offline Eq. 8) trained at that beta, exact after its last step.",
    ));
    o.push_str(&para(&beta1_sentence(r, delta)));
    let finite = |b: f64| if b >= BETA_MAX || b <= 0.0 { f64::NAN } else { b };
    let scatter = LineChart {
        id: MARGIN_SCATTER_CHART.into(),
        title: "Margin against the beta it needs".into(),
        x_label: "margin gamma = pi(y*)/pi(runner-up) - 1".into(),
        y_label: "beta needed".into(),
        log2_x: true,
        log2_y: true,
        y_range: None,
        series: vec![
            Series { name: "beta needed (exact)".into(), points: r.per_prompt.iter().map(|m| (m.margin, finite(m.beta_needed))).collect(), color: BLUE, dash: Some(MARKERS_ONLY), markers: true },
            Series { name: "what the margin guarantees (bound)".into(), points: r.per_prompt.iter().map(|m| (m.margin, finite(m.beta_from_margin))).collect(), color: GREY, dash: Some(MARKERS_ONLY), markers: true },
        ],
        stamp: stamp.into(),
    };
    o.push_str(&figure(
        MARGIN_SCATTER_CHART,
        &scatter.render(),
        "One point per prompt: the largest beta at which pi*_beta(y*) >= 1 - delta, against its margin; grey: log(1+gamma) / log((1-p*)(1-delta)/(p* delta)), the beta the margin alone guarantees. Both axes log scale: beta grows with the margin, as Thm 4.2's beta <~ gamma delta eps says.",
    ));
    let rows: Vec<Vec<String>> = r.sweep.iter().map(|s| vec![format!("{}", s.beta), num3(Some(s.p_star)), num3(Some(s.sharpened)), num3(Some(s.accuracy))]).collect();
    o.push_str(&table("The closed form per beta (exact)", &["beta", "pi*(y*)", "sharpened", "accuracy"], &rows));
    if !r.trained.is_empty() {
        let rows: Vec<Vec<String>> = r
            .trained
            .iter()
            .map(|t| vec![format!("{}", t.beta), t.steps.to_string(), num3(Some(t.p_star)), num3(Some(t.sharpened)), num3(Some(t.closed_form_sharpened)), format!("{:.4}", t.kl_to_closed_form)])
            .collect();
        o.push_str(&table("RLHF-Sharpening trained (exact after the last step)", &["beta", "steps", "pi(y*)", "sharpened", "closed form sharpened", "KL(pi || pi*_beta)"], &rows));
    }
    let mut by: Vec<_> = r.per_prompt.iter().collect();
    by.sort_by(|a, b| b.margin.total_cmp(&a.margin));
    let rows: Vec<Vec<String>> = by
        .iter()
        .take(12)
        .map(|m| vec![m.prompt.clone(), format!("{}{}", m.y_star, if m.y_star_correct { "" } else { " (wrong)" }), num3(Some(m.p_star)), num3(Some(m.p_second)), num3(Some(m.margin)), beta_text(m.beta_needed)])
        .collect();
    o.push_str(&table("The 12 prompts with the largest margins (exact)", &["prompt", "y*", "pi(y*)", "runner-up", "margin", "beta needed"], &rows));
    o
}
