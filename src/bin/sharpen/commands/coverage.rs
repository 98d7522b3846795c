//! `sharpen coverage`: coverage vs exploration, on a built-in transformer
//! (`--task lock`, the default, or `add`, `mul`) or on Example J.1's
//! linear-softmax classes (`--task j1`): pi(y*) against samples drawn for
//! SFT-Sharpening at several N, offline RLHF (Eq. 8), Alg. 1 and (on a
//! transformer) its two ablations, at equal optimiser work over seeds.

use serde_json::json;
use sharpening_lab::app::jobs::coverage::provenance;
use sharpening_lab::sharpen::coverage::{run_coverage, CoverageParams, MethodCurve};
use sharpening_lab::sharpen::coverage_lm::{run_coverage_lm, LmCoverageParams};
use sharpening_lab::sharpen::coverage_sweep::{run_sweep, SweepParams};
use sharpening_lab::sharpen::linear::Structure;

use super::{envelope, fail, progress_printer, task_and_model_or};
use crate::args::Args;
use crate::table::{f3, Table};

pub fn coverage(raw: &[String]) -> Result<(), String> {
    let a = Args::parse(raw, &["json", "quiet"])?;
    if a.str("task").as_deref() != Some("j1") {
        return on_transformer(a);
    }
    if a.str("sweep-d").is_some() {
        return sweep(a);
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
        let name = method_name(m);
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
        seeds: a.get("seeds", d.seeds)?,
    };
    let json = a.flag("json");
    let quiet = a.flag("quiet") || json;
    a.finish()?;
    let r = run_coverage_lm(&model, task.as_ref(), &p, &mut progress_printer("method runs (methods x seeds)", quiet)).map_err(fail)?;
    if json {
        println!("{}", envelope("coverage", task.as_ref(), &model, &source, p.seed, json!(p), serde_json::to_value(&r).unwrap()));
        return Ok(());
    }
    println!(
        "coverage vs exploration on task {}: {} prompts, C_cov {:.1}, mean pi_base(y*) {:.2e}; beta {}, delta {}; closed form: mean pi*_beta(y*) {:.3}, sharpened {:.3}; best-of-N needs {} samples with each prompt's own N ({} with one N for all), Thm 4.1 (eps {}, c = 1) {:.0}; model {} {}; seeds {}..{} ({}{})",
        r.task, r.prompts, r.c_cov, r.p_star_base, r.beta, r.delta, r.p_star_closed_form, r.sharpened_closed_form, r.bon_samples, r.bon_samples_one_n, r.eps, r.thm41_samples,
        source, &model.weights_sha256[..12], p.seed, p.seed + p.seeds as u64 - 1,
        if r.exact { "pi(y*) exact in each run" } else { "y* not certified on every prompt: pi(y*) is that of the listed mode" },
        if r.uncertified_prompts > 0 { format!("; y* not certified on {} prompts", r.uncertified_prompts) } else { String::new() }
    );
    let mut t = Table::new(&["method", "samples", "from pi_base", "from pi", "Adam steps", "data", "distinct used", "mean pi(y*)", "seeds' pi(y*) min..max", "sharpened share", "malformed (at least..at most)", "mass on base answers"]);
    for m in &r.methods {
        for c in &m.curve {
            let seeds = c.p_star_seeds.clone().unwrap_or_default();
            let (lo, hi) = seeds.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
            let opt = |x: Option<f64>, f: &dyn Fn(f64) -> String| x.map_or("-".to_string(), f);
            t.row(vec![
                method_name(m),
                c.samples.to_string(),
                c.samples_base.to_string(),
                c.samples_policy.to_string(),
                c.optimizer_steps.map_or("-".into(), |s| s.to_string()),
                opt(c.dataset, &|x| format!("{x:.0}")),
                opt(c.distinct_examples, &|x| format!("{x:.0}")),
                format!("{:.3e}", c.p_star),
                format!("{lo:.3e}..{hi:.3e}"),
                f3(c.sharpened),
                match (c.malformed, c.unlisted) {
                    (Some(a), Some(u)) => format!("{a:.3}..{:.3}", a + u),
                    _ => "-".into(),
                },
                opt(c.support, &|x| format!("{x:.3}")),
            ]);
        }
    }
    t.print();
    println!("samples: all prompts together (budget m per prompt); every method has taken fit_steps * m / 2 Adam steps at budget m (data: examples or triples of the last fit, distinct used: how many of them the steps drew; means over seeds). sft: m/N best-of-N winners per prompt fitted by maximum likelihood; rlhf_offline: Eq. 8 on m/2 base pairs per prompt; rlhf_online: Alg. 1 (one triple per prompt and round, accumulated, refitted each round; each round's model); rlhf_refit_base: the same with y from pi_base too (no exploration); rlhf_online_fresh: Alg. 1's draws, each round fitted on its own triples only; malformed: mass on answers the task cannot read, from the enumerated answers (at least) plus the unlisted mass (at most); mass on base answers: exact, last point of each curve");
    Ok(())
}

fn method_name(m: &MethodCurve) -> String {
    match (m.n, m.alpha) {
        (Some(n), _) => format!("{} N={n}", m.method),
        (None, Some(a)) => format!("{} alpha={a}", m.method),
        _ => m.method.clone(),
    }
}

/// `--task j1 --sweep-d 4,6,8,10`: Example J.1 at Thm J.3's beta, B and
/// alpha, samples to sharpen against d.
fn sweep(a: Args) -> Result<(), String> {
    let d = SweepParams::default();
    let p = SweepParams {
        structure: Structure::parse(&a.str("structure").unwrap_or_else(|| "lock".into())).map_err(fail)?,
        ds: a.list("sweep-d", &d.ds)?,
        delta: a.get("delta", d.delta)?,
        budgets: a.list("budgets", &d.budgets)?,
        sft_n: a.list("sft-n", &d.sft_n)?,
        alpha_scales: a.list("alpha-scales", &d.alpha_scales)?,
        fit_steps: a.get("fit-steps", d.fit_steps)?,
        lr: a.get("lr", d.lr)?,
        seed: a.get("seed", d.seed)?,
        seeds: a.get("seeds", d.seeds)?,
    };
    let json = a.flag("json");
    let quiet = a.flag("quiet") || json;
    a.finish()?;
    let r = run_sweep(&p, &mut progress_printer("runs (d x seeds)", quiet)).map_err(fail)?;
    if json {
        let prov = sharpening_lab::app::jobs::coverage::sweep_provenance(&p, &r);
        println!("{}", sharpening_lab::report::envelope(&prov, json!(p), serde_json::to_value(&r).unwrap()));
        return Ok(());
    }
    println!(
        "Example J.1 ({:?} features) in Thm J.3's regime, one prompt: beta = margin / (2 log(2 |Y| / delta)), B = C d log d with C = {} (the closed form in the class at every d), delta {}; budgets {:?}; seeds {}..{}; every probability exact, samples on the budget grid",
        r.structure, r.c, r.delta, r.budgets, p.seed, p.seed + p.seeds as u64 - 1
    );
    let mut t = Table::new(&["d", "|Y|", "C_cov", "beta", "B", "pi*_beta(y*)", "method", "samples to sharpen (every seed)", "each seed", "pi(y*) at the last budget, each seed"]);
    for row in &r.sweep {
        for m in &row.methods {
            let name = match (m.n, m.alpha_scale) {
                (Some(n), _) => format!("sft N={n} (pi^BoN_N(y*) {:.3})", m.bon_p_star.unwrap_or(f64::NAN)),
                (None, Some(s)) => format!("rlhf_online alpha={s} x Thm J.3 = {:.2e}", m.alpha.unwrap_or(0.0)),
                _ => m.method.clone(),
            };
            let opt = |s: Option<usize>| s.map_or("never".to_string(), |s| s.to_string());
            t.row(vec![
                row.d.to_string(),
                format!("{}", row.answers),
                format!("{:.1}", row.c_cov),
                format!("{:.4}", row.beta),
                format!("{:.1}", row.b),
                f3(row.closed_form_p_star),
                name,
                opt(m.samples_to_sharpen),
                m.samples_to_sharpen_seeds.iter().map(|&s| opt(s)).collect::<Vec<_>>().join(" "),
                m.final_p_star_seeds.iter().map(|x| format!("{x:.3}")).collect::<Vec<_>>().join(" "),
            ]);
        }
    }
    t.print();
    println!("sft: m/N best-of-N winners fitted by maximum likelihood (its target pi^BoN_N(y*) = 1 - (1 - pi_base(y*))^N); rlhf_offline: Eq. 8 on m/2 pairs from pi_base; rlhf_online: Alg. 1, its last round (alpha in multiples of Thm J.3's); never: not sharpened within the largest budget");
    Ok(())
}
