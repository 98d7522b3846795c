//! Coverage vs exploration, on Example J.1 or on a built-in transformer:
//! `pi(y*)` against samples drawn, for SFT-Sharpening at several N and
//! offline RLHF (coverage), and for Alg. 1 and its variants at several
//! alpha (exploration).

use super::html::{figure, para, table};
use super::line_chart::{LineChart, Series};
use super::svg::{BLACK, BLUE, GREEN, GREY, ORANGE, PURPLE, SKY, VERMILLION};
use crate::sharpen::coverage::{CoverageReport, MethodCurve};
use crate::sharpen::coverage_lm::LmCoverageReport;
use crate::sharpen::linear::Structure;

pub const COV_SFT_CHART: &str = "coverage-sft";
pub const COV_ONLINE_CHART: &str = "coverage-online";

const COLORS: [&str; 6] = [BLUE, ORANGE, GREEN, PURPLE, SKY, BLACK];

fn name(m: &MethodCurve) -> String {
    match (m.method.as_str(), m.n, m.alpha) {
        ("sft", Some(n), _) => format!("SFT-Sharpening, N = {n}"),
        ("rlhf_offline", ..) => "offline RLHF (Eq. 8)".into(),
        ("rlhf_online", _, Some(a)) => format!("Alg. 1, alpha = {a}"),
        ("rlhf_online_onestep", _, Some(a)) => format!("one-step online, alpha = {a}"),
        ("rlhf_refit_base", _, Some(a)) => format!("Alg. 1 with y from pi_base, alpha = {a}"),
        ("rlhf_online_fresh", _, Some(a)) => format!("Alg. 1 on fresh triples only, alpha = {a}"),
        _ => m.method.clone(),
    }
}

fn series(m: &MethodCurve, color: &'static str, dash: Option<&'static str>) -> Series {
    Series { name: name(m), points: m.curve.iter().map(|c| (c.samples as f64, c.p_star.max(1e-9))).collect(), color, dash, markers: true }
}

/// What the charts draw beside the curves and how they label them.
struct Frame<'a> {
    delta: f64,
    closed_form: f64,
    x_label: &'a str,
    y_label: &'a str,
}

fn chart(id: &str, title: &str, f: &Frame, mut s: Vec<Series>, stamp: &str) -> String {
    let xs: Vec<f64> = s.iter().flat_map(|x| x.points.iter().map(|p| p.0)).collect();
    let (lo, hi) = xs.iter().fold((f64::INFINITY, 0.0f64), |(a, b), &x| (a.min(x), b.max(x)));
    s.push(Series { name: format!("1 - delta = {}", 1.0 - f.delta), points: vec![(lo, 1.0 - f.delta), (hi, 1.0 - f.delta)], color: GREY, dash: Some("2 3"), markers: false });
    s.push(Series { name: format!("closed form pi*_beta(y*) = {:.3}", f.closed_form), points: vec![(lo, f.closed_form), (hi, f.closed_form)], color: VERMILLION, dash: Some("8 3 2 3"), markers: false });
    LineChart { id: id.into(), title: title.into(), x_label: f.x_label.into(), y_label: f.y_label.into(), log2_x: true, log2_y: true, y_range: None, series: s, stamp: stamp.into() }.render()
}

/// The coverage chart (SFT at each N, offline RLHF) and the exploration
/// chart (Alg. 1 solid, its variants dashed or dotted, a colour per alpha).
fn charts(methods: &[MethodCurve], f: &Frame, captions: [&str; 2], stamp: &str) -> String {
    let sft: Vec<&MethodCurve> = methods.iter().filter(|m| m.method == "sft").collect();
    let mut s1: Vec<Series> = sft.iter().zip(COLORS.iter().cycle()).map(|(m, c)| series(m, c, None)).collect();
    if let Some(m) = methods.iter().find(|m| m.method == "rlhf_offline") {
        s1.push(series(m, VERMILLION, Some("6 4")));
    }
    let mut o = figure(COV_SFT_CHART, &chart(COV_SFT_CHART, "Coverage: SFT-Sharpening and offline RLHF", f, s1, stamp), captions[0]);
    let online: Vec<&MethodCurve> = methods.iter().filter(|m| m.method.starts_with("rlhf_online") || m.method == "rlhf_refit_base").collect();
    let alphas: Vec<f64> = online.iter().filter_map(|m| m.alpha).fold(Vec::new(), |mut v, a| {
        if !v.contains(&a) {
            v.push(a);
        }
        v
    });
    let s2: Vec<Series> = online
        .iter()
        .map(|m| {
            let c = COLORS[alphas.iter().position(|&a| Some(a) == m.alpha).unwrap_or(0) % COLORS.len()];
            let dash = match m.method.as_str() {
                "rlhf_online" => None,
                "rlhf_refit_base" => Some("2 3"),
                _ => Some("6 4"),
            };
            series(m, c, dash)
        })
        .collect();
    o.push_str(&figure(COV_ONLINE_CHART, &chart(COV_ONLINE_CHART, "Exploration: Alg. 1 and its variants", f, s2, stamp), captions[1]));
    o
}

/// Each method at its largest budget, and the first budget it is sharpened
/// at; with `support`, the mass kept on the base model's answers too.
fn final_rows(methods: &[MethodCurve], support: bool) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for m in methods {
        if let Some(c) = m.curve.last() {
            let first = m.curve.iter().find(|c| c.sharpened > 0.0).map_or("never".to_string(), |c| c.samples.to_string());
            let mut row = vec![name(m), c.samples.to_string(), c.samples_base.to_string(), c.samples_policy.to_string(), format!("{:.3e}", c.p_star), format!("{:.3}", c.sharpened), first];
            if support {
                row.push(c.support.map_or("-".to_string(), |x| format!("{x:.3}")));
            }
            rows.push(row);
        }
    }
    rows
}

const FINAL_HEAD: [&str; 8] = ["method", "samples", "from pi_base", "from pi", "pi(y*)", "sharpened", "sharpened from", "mass on base answers"];

pub fn coverage_html(r: &CoverageReport, stamp: &str) -> String {
    let what = match r.structure {
        Structure::Cube => "phi(y) = y on the cube of 2^d answers (Example J.1 as the paper states it: a packing of the sphere, theta* = y*)",
        Structure::Lock => "phi(y) = the one-hot vector of how many leading tokens y shares with y*: an answer deep in the lock is rare under pi_base, but a model that has learned the first steps samples the next ones",
    };
    let mut o = para(&format!(
        "One prompt, answers of d = {} binary tokens ({} answers), a linear-softmax class pi_theta ∝ exp(<theta, phi(y)>) with ||theta|| <= {:.1} (Def. J.3), features {what}. pi_base(y*) = {:.2e}, so C_cov = {:.1} (Eq. 6) and best-of-N needs N = {} to put 1 - delta on y*; margin {:.3} (Assumption 4.2); beta = {} (Thm J.3 would take {:.4}). Every number is exact (the class is enumerated).",
        r.d, r.answers, r.b, r.p_star_base, r.c_cov, r.bon_n_needed, r.margin, r.beta, r.beta_thm_j3
    ));
    let f = Frame { delta: r.delta, closed_form: r.p_star_closed_form, x_label: "samples drawn (pi_base + pi)", y_label: "pi(y*) (exact)" };
    o.push_str(&charts(&r.methods, &f, [
        "pi(y*) after fitting on the samples drawn from pi_base, exact, both axes log scale: SFT-Sharpening learns y* only where y* shows up among the N samples of a prompt (N of the order of C_cov); offline RLHF regresses on pairs from pi_base and learns only the feature directions those pairs show.",
        "pi(y*) of what Alg. 1 returns after that many samples (half from pi^(t), half from pi_base; the round with the largest J_beta, computed exactly), solid; dashed: the one-step variant (one Adam step per fresh triple). alpha = 0: no optimism.",
    ], stamp));
    o.push_str(&table(
        "At the largest budget (exact): samples drawn, from pi_base and from the model being trained, pi(y*) (one prompt: sharpened is 0 or 1), and the first budget at which pi(y*) >= 1 - delta",
        &FINAL_HEAD[..7],
        &final_rows(&r.methods, false),
    ));
    o
}

pub fn coverage_lm_html(r: &LmCoverageReport, stamp: &str) -> String {
    let mut o = para(&format!(
        "Task {} on its transformer, {} prompts (every method trains on them and is judged on them). Mean pi_base(y*) = {:.2e}, C_cov = {:.1} (Eq. 6, exact); best-of-N needs {} samples in all to put 1 - delta on every prompt's y* when each prompt gets its own smallest N ({} with one N for all prompts), Thm 4.1 draws {:.0} (eps {}, c = 1). beta = {}: the closed form pi_base^(1+1/beta) has mean pi*_beta(y*) = {:.3} and sharpens {:.0}% of the prompts. Equal work: at a budget of m samples per prompt every method has taken the same number of Adam steps (Alg. 1's m/2 rounds of refits). pi(y*) of every model is {} (y* from the enumerated base distribution, scored directly); each point is the mean of {} seeds, whose spread the table gives.",
        r.task, r.prompts, r.p_star_base, r.c_cov, r.bon_samples, r.bon_samples_one_n, r.thm41_samples, r.eps, r.beta, r.p_star_closed_form, 100.0 * r.sharpened_closed_form,
        if r.exact { "exact in each run".to_string() } else { format!("that of the listed mode: y* is not certified on {} prompts (enumeration threshold)", r.uncertified_prompts) },
        r.seeds
    ));
    let f = Frame { delta: r.delta, closed_form: r.p_star_closed_form, x_label: "samples drawn, all prompts (pi_base + pi)", y_label: "mean pi(y*) (exact)" };
    o.push_str(&charts(&r.methods, &f, [
        "Mean pi(y*) over the prompts after fitting on the samples drawn from pi_base, exact, mean over seeds, both axes log scale: SFT-Sharpening on m/N best-of-N winners per prompt, offline RLHF (Eq. 8) on m/2 base pairs per prompt; each point is a fit from the base model with as many Adam steps as Alg. 1 has taken at that budget.",
        "Mean pi(y*) after each round of Alg. 1 (one triple per prompt and round, y from the model being trained and y' from pi_base, all triples kept and refitted; the round's model, not the best round), solid; dotted: the same schedule with y from pi_base (no exploration: the gap between the two is what exploring buys); dashed: each round fitted on its fresh triples only. alpha = 0: no optimism. Mean over seeds.",
    ], stamp));
    o.push_str(&table(
        "At the largest budget (exact in each run, mean over seeds): samples drawn (all prompts), from pi_base and from the model being trained, mean pi(y*), the share of prompts with pi(y*) >= 1 - delta (Def. 3.1), the first budget at which at least one prompt is sharpened, and the mean total probability the model keeps on the answers the base model lists (exact; below 1: mass moved to answers the base model does not give, such as other lengths); then the Adam steps, the seeds' smallest and largest pi(y*), and the mass on answers the task cannot read (at least, from the enumerated answers; at most, with the unlisted mass)",
        &LM_HEAD,
        &final_rows(&r.methods, true).into_iter().zip(r.methods.iter().filter(|m| !m.curve.is_empty())).map(|(mut row, m)| {
            let c = m.curve.last().expect("rows come from last points");
            let seeds = c.p_star_seeds.clone().unwrap_or_default();
            let (lo, hi) = seeds.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
            row.push(c.optimizer_steps.map_or("-".into(), |s| s.to_string()));
            row.push(format!("{lo:.3e} to {hi:.3e}"));
            row.push(match (c.malformed, c.unlisted) {
                (Some(a), Some(u)) => format!("{a:.3} to {:.3}", a + u),
                _ => "-".into(),
            });
            row
        }).collect::<Vec<_>>(),
    ));
    o
}

const LM_HEAD: [&str; 11] = ["method", "samples", "from pi_base", "from pi", "pi(y*)", "sharpened", "sharpened from", "mass on base answers", "Adam steps", "seeds' pi(y*)", "malformed mass"];
