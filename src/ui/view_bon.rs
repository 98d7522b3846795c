//! The best-of-N sweep's results: accuracy against N for each self-reward with
//! greedy, single-sample and pass@N references, how often best-of-N returns
//! `y*` against the theory, the table, and the prompts whose `y*` is wrong.

use super::html::{cell, figure, num3, para, table};
use super::line_chart::{LineChart, Series};
use super::svg::{BLACK, BLUE, GREEN, GREY, ORANGE, PURPLE, SKY, VERMILLION};
use crate::reward::Reward;
use crate::sharpen::metrics::{bon_theory, mean};
use crate::sharpen::BonReport;

pub const ACC_CHART: &str = "bon-accuracy";
pub const YSTAR_CHART: &str = "bon-ystar";

fn reward_color(r: Reward) -> &'static str {
    match r {
        Reward::Loglik => BLUE,
        Reward::LoglikNorm => SKY,
        Reward::Majority => GREEN,
        Reward::SelfVerify => VERMILLION,
    }
}

/// Mean over prompts of `1 - (1 - pi(y*))^N` at `points` values of N spread
/// evenly on a log scale over `1..=n_max`.
pub fn theory_curve(p_star: &[f64], n_max: usize, points: usize) -> Vec<(f64, f64)> {
    let top = (n_max.max(1) as f64).log2();
    let mut out: Vec<(f64, f64)> = (0..points.max(2))
        .map(|i| 2f64.powf(top * i as f64 / (points.max(2) - 1) as f64))
        .map(|n| (n, mean(&p_star.iter().map(|&p| 1.0 - (1.0 - p).powf(n)).collect::<Vec<_>>())))
        .collect();
    // The exact values at integer N agree with `bon_theory`.
    if let Some(last) = out.last_mut() {
        last.1 = mean(&p_star.iter().map(|&p| bon_theory(p, n_max)).collect::<Vec<_>>());
    }
    out
}

pub fn bon_html(r: &BonReport, stamp: &str) -> String {
    let ns: Vec<usize> = {
        let mut v: Vec<usize> = r.rows.iter().map(|x| x.n).collect();
        v.dedup();
        v
    };
    let rewards: Vec<Reward> = {
        let mut v = vec![];
        for x in &r.rows {
            if !v.contains(&x.reward) {
                v.push(x.reward);
            }
        }
        v
    };
    let n_min = *ns.first().unwrap_or(&1) as f64;
    let n_max = *ns.last().unwrap_or(&1);
    let flat = |y: f64| vec![(n_min, y), (n_max as f64, y)];
    let mut series: Vec<Series> = rewards
        .iter()
        .map(|&rw| Series {
            name: format!("best-of-N by {}", rw.name()),
            points: r.rows.iter().filter(|x| x.reward == rw).map(|x| (x.n as f64, x.accuracy)).collect(),
            color: reward_color(rw),
            dash: None,
            markers: true,
        })
        .collect();
    if let Some(first) = rewards.first() {
        series.push(Series {
            name: "pass@N (oracle picks)".into(),
            points: r.rows.iter().filter(|x| x.reward == *first).map(|x| (x.n as f64, x.pass_at_n)).collect(),
            color: PURPLE,
            dash: Some("6 4"),
            markers: false,
        });
    }
    series.push(Series { name: "greedy decoding".into(), points: flat(r.greedy_accuracy), color: BLACK, dash: Some("2 3"), markers: false });
    series.push(Series { name: "one sample (exact)".into(), points: flat(r.sample_accuracy_exact), color: ORANGE, dash: Some("2 3"), markers: false });
    series.push(Series { name: "y* correct (ceiling of loglik)".into(), points: flat(r.y_star_accuracy), color: GREY, dash: Some("8 3 2 3"), markers: false });
    let trials = r.rows.first().map_or(0, |x| x.trials);
    let acc = LineChart {
        id: ACC_CHART.into(),
        title: "Best-of-N accuracy against N".into(),
        x_label: "N, samples per prompt".into(),
        y_label: "accuracy (share correct)".into(),
        log2_x: true,
        y_range: Some((0.0, 1.0)),
        series,
        stamp: stamp.into(),
    };
    let mut o = para(&format!(
        "{} prompts ({} marked). Mean pi_base(y*) = {:.3}, C_cov = {:.2} (Eq. 6, exact). Best-of-N samples N answers and keeps the one the model itself rates highest; the oracle only scores the choice.",
        r.prompts, r.marked_prompts, r.p_star, r.c_cov
    ));
    o.push_str(&figure(
        ACC_CHART,
        &acc.render(),
        &format!(
            "Share of best-of-N choices the oracle accepts, for each self-reward (estimates: at N = {} over {} trials, at larger N over fewer disjoint groups of the same samples). Greedy, one sample (exact expectation) and the share of prompts whose y* is correct are references.",
            ns.first().unwrap_or(&1), trials
        ),
    ));
    let p_star: Vec<f64> = r.per_prompt.iter().map(|q| q.p_star).collect();
    let mut ys = vec![Series {
        name: "theory 1-(1-pi(y*))^N (exact)".into(),
        points: theory_curve(&p_star, n_max, 40),
        color: GREY,
        dash: Some("6 4"),
        markers: false,
    }];
    if let Some(rw) = rewards.iter().find(|&&x| x == Reward::Loglik) {
        ys.push(Series {
            name: "measured, loglik".into(),
            points: r.rows.iter().filter(|x| x.reward == *rw).map(|x| (x.n as f64, x.y_star_rate)).collect(),
            color: BLUE,
            dash: None,
            markers: true,
        });
    }
    let yc = LineChart {
        id: YSTAR_CHART.into(),
        title: "How often best-of-N returns y*".into(),
        x_label: "N, samples per prompt".into(),
        y_label: "P[best-of-N = y*]".into(),
        log2_x: true,
        y_range: Some((0.0, 1.0)),
        series: ys,
        stamp: stamp.into(),
    };
    o.push_str(&figure(
        YSTAR_CHART,
        &yc.render(),
        &format!("With the log-likelihood reward best-of-N returns y* whenever y* is among the N samples: the dashed curve is that probability computed exactly from each prompt's pi_base(y*), averaged over the {} prompts; dots are the measured rates. The theory assumes samples from pi_base itself (temperature 1, no top-k or top-p).", r.prompts),
    ));
    let rows: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|x| {
            vec![
                x.n.to_string(), x.reward.name().into(), num3(Some(x.accuracy)), num3(x.accuracy_marked),
                num3(Some(x.y_star_rate)), num3(Some(x.y_star_theory)), num3(Some(x.pass_at_n)), x.trials.to_string(),
            ]
        })
        .collect();
    o.push_str(&table(
        "Best-of-N by self-reward (accuracy and P[= y*] are estimates over `trials` draws; theory is exact)",
        &["N", "reward", "accuracy", "acc. marked", "P[= y*]", "theory", "pass@N", "trials"],
        &rows,
    ));
    o.push_str(&para(&format!(
        "References: greedy {:.3} (greedy = y* on {:.3} of prompts), one sample {:.3} (exact), y* correct on {:.3} of prompts; largest unlisted mass {:.1e}.",
        r.greedy_accuracy, r.greedy_is_y_star, r.sample_accuracy_exact, r.y_star_accuracy, r.max_leftover
    )));
    let wrong: Vec<Vec<String>> = r
        .per_prompt
        .iter()
        .filter(|q| !q.y_star_correct)
        .map(|q| {
            vec![
                format!("<code>{}</code>", cell(&q.prompt)), cell(&q.answer),
                cell(q.y_star.as_deref().unwrap_or("–")), if q.marked { "yes".into() } else { "no".into() }, num3(Some(q.p_star)),
            ]
        })
        .collect();
    o.push_str(&format!("<details><summary>Prompts whose y* is wrong ({} of {}): sharpening makes these worse</summary>", wrong.len(), r.prompts));
    o.push_str(&table("Base model's most likely answer is wrong (exact)", &["prompt", "correct", "y*", "marked", "pi_base(y*)"], &wrong));
    o.push_str("</details>");
    o
}
