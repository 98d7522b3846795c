//! Sample efficiency: `pi(y*)` against the number of samples drawn from
//! `pi_base`, for SFT-Sharpening at several N (one point each, after training)
//! and RLHF-Sharpening with N = 2 (a curve over its evaluations).

use super::html::{figure, num3, para, table};
use super::line_chart::{LineChart, Series};
use super::svg::{BLUE, GREY, VERMILLION};
use crate::sharpen::efficiency::EfficiencyReport;

pub const EFF_CHART: &str = "efficiency";

pub fn efficiency_html(r: &EfficiencyReport, stamp: &str) -> String {
    let sft: Vec<(f64, f64)> = r.sft.iter().map(|s| (s.point.samples as f64, s.point.p_star)).collect();
    let rlhf: Vec<(f64, f64)> = r.rlhf.iter().filter(|p| p.samples > 0).map(|p| (p.samples as f64, p.p_star)).collect();
    let xs = sft.iter().chain(&rlhf).map(|p| p.0);
    let (lo, hi) = xs.fold((f64::INFINITY, 0.0f64), |(a, b), x| (a.min(x), b.max(x)));
    let chart = LineChart {
        id: EFF_CHART.into(),
        title: "pi(y*) against samples drawn from pi_base".into(),
        x_label: "samples from pi_base".into(),
        y_label: "mean pi(y*) (exact)".into(),
        log2_x: true,
        log2_y: false,
        y_range: Some((0.0, 1.0)),
        series: vec![
            Series { name: "SFT-Sharpening (points: N = 1, 2, 4...)".into(), points: sft, color: BLUE, dash: None, markers: true },
            Series { name: "RLHF-Sharpening, N = 2 per pair".into(), points: rlhf, color: VERMILLION, dash: Some("6 4"), markers: true },
            Series { name: "base model".into(), points: vec![(lo.min(hi), r.p_star_base), (hi, r.p_star_base)], color: GREY, dash: Some("2 3"), markers: false },
        ],
        stamp: stamp.into(),
    };
    let mut o = para(&format!(
        "{} prompts, C_cov = {:.2} (Eq. 6): y* shows up among N samples of a prompt with probability 1-(1-pi(y*))^N, so SFT-Sharpening needs N of the order of C_cov to learn y* everywhere; RLHF-Sharpening uses only 2 samples per pair and learns from the likelihood margin between them, at the cost of many more steps.",
        r.prompts, r.c_cov
    ));
    o.push_str(&figure(
        EFF_CHART,
        &chart.render(),
        "Exact mean pi(y*) over the same prompts: each SFT point is a full run on N samples per prompt (n x N samples); the RLHF curve is one run, evaluated as it draws more pairs.",
    ));
    let mut rows: Vec<Vec<String>> = r
        .sft
        .iter()
        .map(|s| vec![format!("SFT, N = {}", s.n), s.point.samples.to_string(), num3(Some(s.point.p_star)), num3(Some(s.point.sharpened)), num3(Some(s.point.accuracy))])
        .collect();
    if let Some(last) = r.rlhf.last() {
        rows.push(vec!["RLHF, N = 2 (end)".into(), last.samples.to_string(), num3(Some(last.p_star)), num3(Some(last.sharpened)), num3(Some(last.accuracy))]);
    }
    let target = crate::sharpen::eval::Target { delta: crate::sharpen::SftParams::default().delta, gamma: r.gamma };
    o.push_str(&table(&format!("Final metrics (exact); {}", target.meaning()), &["method", "samples", "pi(y*)", "sharpened", "accuracy"], &rows));
    o
}
