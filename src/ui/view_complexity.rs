//! Sample complexity: for `(eps, delta)` targets, N needed by best-of-N
//! (exact), the cheapest SFT run that gets there (measured) and Thm 4.1's N
//! (a bound), charted against delta and against eps, with the table of rows.

use super::html::{figure, num3, para, table};
use super::line_chart::{LineChart, Series};
use super::svg::{BLUE, GREY, VERMILLION};
use crate::report::count_text;
use crate::sharpen::complexity::{ComplexityReport, ComplexityRow};

pub const CX_DELTA_CHART: &str = "complexity-delta";
pub const CX_EPS_CHART: &str = "complexity-eps";

fn opt(x: Option<usize>) -> String {
    x.map_or("none of the grid".into(), |v| v.to_string())
}

/// N needed against `x` (delta or eps) over the rows `keep` selects.
fn chart(id: &str, r: &ComplexityReport, x_name: &str, fixed: String, keep: impl Fn(&ComplexityRow) -> Option<f64>, stamp: &str) -> String {
    let rows: Vec<(f64, &ComplexityRow)> = r.rows.iter().filter_map(|row| keep(row).map(|x| (x, row))).collect();
    let series = vec![
        Series { name: "best-of-N (exact)".into(), points: rows.iter().map(|(x, w)| (*x, w.bon_n as f64)).collect(), color: BLUE, dash: None, markers: true },
        Series {
            name: "SFT: N of the cheapest run that gets there (measured)".into(),
            points: rows.iter().map(|(x, w)| (*x, w.sft_n.map_or(f64::NAN, |n| n as f64))).collect(),
            color: VERMILLION,
            dash: Some("6 4"),
            markers: true,
        },
        Series { name: "Thm 4.1: c C_cov log(2/delta)/eps, c = 1 (bound)".into(), points: rows.iter().map(|(x, w)| (*x, w.thm41_n)).collect(), color: GREY, dash: Some("2 3"), markers: false },
    ];
    let c = LineChart {
        id: id.into(),
        title: format!("N needed against {x_name} ({fixed})"),
        x_label: x_name.into(),
        y_label: "N".into(),
        log2_x: true,
        log2_y: true,
        y_range: None,
        series,
        stamp: stamp.into(),
    };
    c.render()
}

pub fn complexity_html(r: &ComplexityReport, stamp: &str) -> String {
    let set = if r.gamma > 0.0 { "y*_gamma" } else { "y*" };
    let defined = if r.gamma > 0.0 {
        format!(" Here y*_gamma = every answer with pi_base(y) >= (1 - gamma) pi_base(y*), gamma = {} (approximate sharpening, Def. F.1).", r.gamma)
    } else {
        String::new()
    };
    let cov = if r.gamma > 0.0 { format!("C_cov = {:.3}, C_cov,gamma = {:.3}", r.c_cov, r.c_cov_gamma) } else { format!("C_cov = {:.3}", r.c_cov) };
    let exact = if r.exact { "exact".to_string() } else { format!("exact except {} prompts whose enumeration does not certify {set}", r.uncertified_prompts) };
    let mut o = para(&format!(
        "{} evaluation prompts, {cov} (Eq. 6, {exact}).{defined} A model is (eps, delta)-sharpened when at least 1 - eps of the prompts have pi({set}) >= 1 - delta (Def. 3.1). Best-of-N by log-likelihood returns an answer of {set} exactly when one is among its N samples, so the N it needs follows from each prompt's pi_base({set}): exact. SFT-Sharpening trains on other prompts and is judged on these; each SFT number is one training run of the grid (measured).",
        r.prompts
    ));
    let eps0 = r.rows.iter().map(|w| w.eps).fold(f64::INFINITY, f64::min);
    let delta0 = r.rows.iter().map(|w| w.delta).fold(f64::INFINITY, f64::min);
    o.push_str(&figure(
        CX_DELTA_CHART,
        &chart(CX_DELTA_CHART, r, "delta", format!("eps {eps0}"), |w| (w.eps == eps0).then_some(w.delta), stamp),
        "N needed for (eps, delta)-sharpening at the smallest eps: best-of-N exact, SFT measured (a gap in its line: no run of the grid got there), Thm 4.1's N an upper bound with c = 1. Both axes log scale.",
    ));
    o.push_str(&figure(
        CX_EPS_CHART,
        &chart(CX_EPS_CHART, r, "eps", format!("delta {delta0}"), |w| (w.delta == delta0).then_some(w.eps), stamp),
        "The same against eps at the smallest delta.",
    ));
    let rows: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|w| {
            vec![
                num3(Some(w.eps)),
                num3(Some(w.delta)),
                w.bon_n.to_string(),
                opt(w.sft_n),
                opt(w.sft_prompts),
                opt(w.sft_samples),
                count_text(w.thm41_n),
                count_text(w.thm41_prompts),
                count_text(w.thm31_m),
            ]
        })
        .collect();
    o.push_str(&table(
        "Samples needed per (eps, delta): best-of-N N (exact); SFT N, n and n x N (measured, cheapest run of the grid); Thm 4.1 N and n (upper bounds, c = 1); Thm 3.1 m (lower bound, c = 1)",
        &["eps", "delta", "BoN N", "SFT N", "SFT n", "SFT n x N", "Thm 4.1 N", "Thm 4.1 n", "Thm 3.1 m"],
        &rows,
    ));
    let grid: Vec<Vec<String>> = r.sft.iter().map(|s| vec![s.n.to_string(), s.prompts.to_string(), s.samples.to_string(), num3(Some(s.p_star))]).collect();
    o.push_str(&table(&format!("The SFT grid: mean pi({set}) on the evaluation prompts after training (exact)"), &["N", "n", "samples", "pi after"], &grid));
    o.push_str(&para(&format!(
        "log|Pi| = {:.3e} ({}); with it Thm 4.1's prompt count n and Thm 3.1's m are far above anything run here: the theorems hold for any finite class, and counting a network's weights this way makes them loose by orders of magnitude, while N (which does not depend on |Pi|) is within a small factor of what best-of-N needs.",
        r.log_class, r.log_class_source
    )));
    o
}
