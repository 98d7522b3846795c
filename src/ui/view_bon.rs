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
    let one = match (r.exact, r.q_is_base) {
        (false, _) => format!("one sample (estimate, {} samples)", r.sample_accuracy_samples),
        (true, true) => "one sample (exact)".into(),
        (true, false) => "one sample from q (exact)".into(),
    };
    series.push(Series { name: one, points: flat(r.sample_accuracy), color: ORANGE, dash: Some("2 3"), markers: false });
    series.push(Series { name: "y* correct (ceiling of loglik)".into(), points: flat(r.y_star_accuracy), color: GREY, dash: Some("8 3 2 3"), markers: false });
    let trials = r.rows.first().map_or(0, |x| x.trials);
    let acc = LineChart {
        id: ACC_CHART.into(),
        title: "Best-of-N accuracy against N".into(),
        x_label: "N, samples per prompt".into(),
        y_label: "accuracy (share correct)".into(),
        log2_x: true,
        log2_y: false,
        y_range: Some((0.0, 1.0)),
        series,
        stamp: stamp.into(),
    };
    let facts = if r.exact {
        let q = if r.q_is_base { String::new() } else { format!(" Samples come from q, the distribution the sampling settings give (mean q(y*) = {:.3}, exact).", r.q_star.unwrap_or(f64::NAN)) };
        format!("Mean pi_base(y*) = {:.3}, C_cov = {:.2} (Eq. 6, exact).{q}", r.p_star, r.c_cov)
    } else {
        format!(
            "Free-text answers: y* is estimated as the most likely of each prompt's samples, so mean pi_base(y*) >= {:.3e} and C_cov <= {:.3e} (Eq. 6) are bounds, not values.",
            r.p_star, r.c_cov
        )
    };
    let mut o = para(&format!(
        "{} prompts ({} marked). {facts} Best-of-N samples N answers and keeps the one the model itself rates highest; the oracle only scores the choice.",
        r.prompts, r.marked_prompts
    ));
    o.push_str(&figure(
        ACC_CHART,
        &acc.render(),
        &format!(
            "Share of best-of-N choices the oracle accepts, for each self-reward (estimates: at N = {} over {} trials, at larger N over fewer disjoint groups of the same samples; 95% intervals in the table). Greedy, one sample ({}) and the share of prompts whose y* is correct are references.",
            ns.first().unwrap_or(&1), trials, if r.exact { "exact expectation" } else { "estimate" }
        ),
    ));
    if r.exact {
        o.push_str(&y_star_figure(r, n_max, &rewards, stamp));
    }
    let rows: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|x| {
            let mut v = vec![
                x.n.to_string(), x.reward.name().into(), num3(Some(x.accuracy)),
                format!("{}–{}", num3(Some(x.accuracy_ci[0])), num3(Some(x.accuracy_ci[1]))), num3(x.accuracy_marked), num3(Some(x.y_star_rate)),
            ];
            if r.exact {
                v.push(num3(x.y_star_theory));
            }
            if r.exact && !r.q_is_base {
                v.push(num3(x.y_star_theory_base));
            }
            v.extend([num3(Some(x.pass_at_n)), x.trials.to_string()]);
            v
        })
        .collect();
    let mut head = vec!["N", "reward", "accuracy", "95% interval", "acc. marked", "P[= y*]"];
    if r.exact {
        head.push(if r.q_is_base { "theory" } else { "theory (q)" });
    }
    if r.exact && !r.q_is_base {
        head.push("theory (pi_base)");
    }
    head.extend(["pass@N", "trials"]);
    let caption = if r.exact {
        "Best-of-N by self-reward (accuracy, P[= y*] and pass@N are estimates over `trials` draws; theory is exact)"
    } else {
        "Best-of-N by self-reward (estimates over `trials` draws; y* is the most likely sample, so P[= y*] at the largest N is 1 by construction)"
    };
    o.push_str(&table(caption, &head, &rows));
    let one = match (r.sample_accuracy_ci, r.sample_accuracy_base) {
        (Some(ci), _) => format!("{:.3} (estimate over {} samples, 95% interval {:.3}–{:.3})", r.sample_accuracy, r.sample_accuracy_samples, ci[0], ci[1]),
        (None, Some(b)) if !r.q_is_base => format!("{:.3} (exact, from q; {b:.3} from pi_base)", r.sample_accuracy),
        _ => format!("{:.3} (exact)", r.sample_accuracy),
    };
    let listing = if r.exact {
        let mut t = format!("; largest unlisted mass {:.1e}", r.max_leftover);
        if r.uncertified_prompts > 0 {
            t.push_str(&format!(" — on {} prompts it is at least pi_base(y*), so y* is not certified there", r.uncertified_prompts));
        }
        t
    } else {
        r.cut_off.map_or(String::new(), |c| format!("; {:.3} of the samples were cut off at the token budget", c))
    };
    o.push_str(&para(&format!(
        "References: greedy {:.3} (greedy = y* on {:.3} of prompts), one sample {one}, y* correct on {:.3} of prompts{listing}.",
        r.greedy_accuracy, r.greedy_is_y_star, r.y_star_accuracy
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
    let wrong_caption = if r.exact {
        "Base model's most likely answer is wrong (exact)"
    } else {
        "The most likely sample is wrong (y* estimated from the samples; pi_base of that sample, exact)"
    };
    o.push_str(&table(wrong_caption, &["prompt", "correct", "y*", "marked", "pi_base(y*)"], &wrong));
    o.push_str("</details>");
    o
}

/// How often best-of-N returns `y*`, measured against the exact theory
/// `1-(1-q(y*))^N` (and `pi_base`'s when the samples come from another `q`).
fn y_star_figure(r: &BonReport, n_max: usize, rewards: &[Reward], stamp: &str) -> String {
    let q_star: Vec<f64> = r.per_prompt.iter().map(|f| f.q_star.unwrap_or(f.p_star)).collect();
    let p_star: Vec<f64> = r.per_prompt.iter().map(|f| f.p_star).collect();
    let name = if r.q_is_base { "theory 1-(1-pi(y*))^N (exact)" } else { "theory 1-(1-q(y*))^N, q sampled (exact)" };
    let mut ys = vec![Series { name: name.into(), points: theory_curve(&q_star, n_max, 40), color: GREY, dash: Some("6 4"), markers: false }];
    if !r.q_is_base {
        ys.push(Series {
            name: "1-(1-pi_base(y*))^N (exact)".into(),
            points: theory_curve(&p_star, n_max, 40),
            color: ORANGE,
            dash: Some("2 3"),
            markers: false,
        });
    }
    if rewards.contains(&Reward::Loglik) {
        ys.push(Series {
            name: "measured, loglik".into(),
            points: r.rows.iter().filter(|x| x.reward == Reward::Loglik).map(|x| (x.n as f64, x.y_star_rate)).collect(),
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
        log2_y: false,
        y_range: Some((0.0, 1.0)),
        series: ys,
        stamp: stamp.into(),
    };
    let sampled = if r.q_is_base {
        "The samples come from pi_base itself (temperature 1, no top-k or top-p), so q = pi_base.".to_string()
    } else {
        "The samples come from q, pi_base at the chosen temperature and truncation, so the theory uses q(y*), the exact probability of sampling y* (a product of the per-token sampling distributions); the dotted curve is what pi_base itself would give.".to_string()
    };
    figure(
        YSTAR_CHART,
        &yc.render(),
        &format!("With the log-likelihood reward best-of-N returns y* whenever y* is among the N samples: the dashed curve is that probability computed exactly from each prompt's q(y*), averaged over the {} prompts; dots are the measured rates. {sampled}", r.prompts),
    )
}
