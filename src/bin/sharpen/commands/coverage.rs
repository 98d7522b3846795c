//! `sharpen coverage`: coverage vs exploration, on a built-in transformer
//! (`--task lock`, the default, or `add`, `mul`) or on Example J.1's
//! linear-softmax classes (`--task j1`): pi(y*) against samples drawn for
//! SFT-Sharpening at several N, offline RLHF (Eq. 8), Alg. 1 and its
//! one-step variant.

use serde_json::json;
use sharpening_lab::app::jobs::coverage::provenance;
use sharpening_lab::sharpen::coverage::{run_coverage, CoverageParams, MethodCurve};
use sharpening_lab::sharpen::coverage_lm::{run_coverage_lm, LmCoverageParams};
use sharpening_lab::sharpen::linear::Structure;

use super::{envelope, fail, progress_printer, task_and_model_or};
use crate::args::Args;
use crate::table::{f3, Table};

pub fn coverage(raw: &[String]) -> Result<(), String> {
    let a = Args::parse(raw, &["json", "quiet"])?;
    if a.str("task").as_deref() != Some("j1") {
        return on_transformer(a);
    }
    let d = CoverageParams::default();
    let p = CoverageParams {
        structure: Structure::parse(&a.str("structure").unwrap_or_else(|| "lock".into())).map_err(fail)?,
        d: a.get("d", d.d)?,
        beta: a.get("beta", d.beta)?,
        b: a.str("b").map(|v| v.parse().map_err(|_| format!("--b: cannot read {v:?} as a number"))).transpose()?,
        delta: a.get("delta", d.delta)?,
        budgets: a.list("budgets", &d.budgets)?,
        sft_n: a.list("sft-n", &d.sft_n)?,
        alphas: a.list("alphas", &d.alphas)?,
        fit_steps: a.get("fit-steps", d.fit_steps)?,
        lr: a.get("lr", d.lr)?,
        seed: a.get("seed", d.seed)?,
    };
    let json = a.flag("json");
    let quiet = a.flag("quiet") || json;
    a.finish()?;
    let r = run_coverage(&p, &mut progress_printer("methods", quiet)).map_err(fail)?;
    if json {
        println!("{}", sharpening_lab::report::envelope(&provenance(&p, &r), json!(p), serde_json::to_value(&r).unwrap()));
        return Ok(());
    }
    println!(
        "coverage vs exploration, Example J.1 ({:?} features), d = {} ({} answers), one prompt: C_cov {:.1}, margin {:.4}, pi_base(y*) {:.2e}; beta {} (Thm J.3's {:.4}), B {:.1}, delta {}; pi*_beta(y*) {:.3}; best-of-N needs N = {}; seed {} (all exact)",
        r.structure, r.d, r.answers, r.c_cov, r.margin, r.p_star_base, r.beta, r.beta_thm_j3, r.b, r.delta, r.p_star_closed_form, r.bon_n_needed, p.seed
    );
    print_curves(&r.methods, "pi(y*)", "sharpened", "J_beta");
    println!("sft: m/N best-of-N winners fitted by maximum likelihood; rlhf_offline: Eq. 8 on m/2 pairs from pi_base; rlhf_online: Alg. 1 (triples accumulate, refit on all of them each round, the best round by J_beta returned); rlhf_online_onestep: one Adam step per fresh triple");
    Ok(())
}

/// The curves as a table; the last column is `J_beta` (Example J.1) or the
/// mass on the base model's answers (a transformer, last points only).
fn print_curves(methods: &[MethodCurve], p_label: &str, s_label: &str, last: &str) {
    let mut t = Table::new(&["method", "samples", "from pi_base", "from pi", p_label, s_label, last]);
    for m in methods {
        let name = match (m.n, m.alpha) {
            (Some(n), _) => format!("{} N={n}", m.method),
            (None, Some(a)) => format!("{} alpha={a}", m.method),
            _ => m.method.clone(),
        };
        for c in &m.curve {
            t.row(vec![name.clone(), c.samples.to_string(), c.samples_base.to_string(), c.samples_policy.to_string(), format!("{:.3e}", c.p_star), f3(c.sharpened), c.objective.or(c.support).map_or("-".into(), |j| format!("{j:.3}"))]);
        }
    }
    t.print();
}

/// The experiment on a built-in transformer.
fn on_transformer(a: Args) -> Result<(), String> {
    let (task, model, source) = task_and_model_or(&a, "lock")?;
    let d = LmCoverageParams::default();
    let p = LmCoverageParams {
        prompts: a.get("prompts", d.prompts)?,
        beta: a.get("beta", d.beta)?,
        delta: a.get("delta", d.delta)?,
        eps: a.get("eps", d.eps)?,
        budgets: a.list("budgets", &d.budgets)?,
        sft_n: a.list("sft-n", &d.sft_n)?,
        alphas: a.list("alphas", &d.alphas)?,
        fit_steps: a.get("fit-steps", d.fit_steps)?,
        batch: a.get("batch", d.batch)?,
        lr: a.get("lr", d.lr)?,
        threshold: a.get("threshold", d.threshold)?,
        seed: a.get("seed", d.seed)?,
    };
    let json = a.flag("json");
    let quiet = a.flag("quiet") || json;
    a.finish()?;
    let r = run_coverage_lm(&model, task.as_ref(), &p, &mut progress_printer("methods", quiet)).map_err(fail)?;
    if json {
        println!("{}", envelope("coverage", task.as_ref(), &model, &source, p.seed, json!(p), serde_json::to_value(&r).unwrap()));
        return Ok(());
    }
    println!(
        "coverage vs exploration on task {}: {} prompts, C_cov {:.1}, mean pi_base(y*) {:.2e}; beta {}, delta {}; closed form: mean pi*_beta(y*) {:.3}, sharpened {:.3}; best-of-N needs {} samples, Thm 4.1 (eps {}, c = 1) {:.0}; model {} {}; seed {} (pi(y*) exact, each curve one run{})",
        r.task, r.prompts, r.c_cov, r.p_star_base, r.beta, r.delta, r.p_star_closed_form, r.sharpened_closed_form, r.bon_samples, r.eps, r.thm41_samples,
        source, &model.weights_sha256[..12], p.seed,
        if r.uncertified_prompts > 0 { format!("; y* not certified on {} prompts", r.uncertified_prompts) } else { String::new() }
    );
    print_curves(&r.methods, "mean pi(y*)", "sharpened share", "mass on base answers");
    println!("samples: all prompts together (budget m per prompt). sft: m/N best-of-N winners per prompt fitted by maximum likelihood; rlhf_offline: Eq. 8 on m/2 base pairs per prompt; rlhf_online: Alg. 1 (one triple per prompt and round, accumulated; each round refits on minibatches of all of them; the curve shows each round's model); rlhf_online_onestep: one Adam step per round on its fresh triples; mass on base answers: the model's mean total probability of the answers the base model lists (exact, last point of each curve)");
    Ok(())
}
