//! `sharpen coverage`: coverage vs exploration on Example J.1's
//! linear-softmax classes: pi(y*) against samples drawn for SFT-Sharpening at
//! several N, offline RLHF (Eq. 8), Alg. 1 and its one-step variant.

use serde_json::json;
use sharpening_lab::app::jobs::coverage::provenance;
use sharpening_lab::report::envelope;
use sharpening_lab::sharpen::coverage::{run_coverage, CoverageParams};
use sharpening_lab::sharpen::linear::Structure;

use super::{fail, progress_printer};
use crate::args::Args;
use crate::table::{f3, Table};

pub fn coverage(raw: &[String]) -> Result<(), String> {
    let a = Args::parse(raw, &["json", "quiet"])?;
    let task = a.str("task").unwrap_or_else(|| "j1".into());
    if task != "j1" {
        return Err(format!(
            "--task {task}: the coverage experiment runs on Example J.1's linear-softmax classes (--task j1, --structure lock|cube); on the transformer tasks it is not built yet"
        ));
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
        println!("{}", envelope(&provenance(&p, &r), json!(p), serde_json::to_value(&r).unwrap()));
        return Ok(());
    }
    println!(
        "coverage vs exploration, Example J.1 ({:?} features), d = {} ({} answers), one prompt: C_cov {:.1}, margin {:.4}, pi_base(y*) {:.2e}; beta {} (Thm J.3's {:.4}), B {:.1}, delta {}; pi*_beta(y*) {:.3}; best-of-N needs N = {}; seed {} (all exact)",
        r.structure, r.d, r.answers, r.c_cov, r.margin, r.p_star_base, r.beta, r.beta_thm_j3, r.b, r.delta, r.p_star_closed_form, r.bon_n_needed, p.seed
    );
    let mut t = Table::new(&["method", "samples", "from pi_base", "from pi", "pi(y*)", "sharpened", "J_beta"]);
    for m in &r.methods {
        let name = match (m.n, m.alpha) {
            (Some(n), _) => format!("{} N={n}", m.method),
            (None, Some(a)) => format!("{} alpha={a}", m.method),
            _ => m.method.clone(),
        };
        for c in &m.curve {
            t.row(vec![name.clone(), c.samples.to_string(), c.samples_base.to_string(), c.samples_policy.to_string(), format!("{:.3e}", c.p_star), f3(c.sharpened), format!("{:.3}", c.objective)]);
        }
    }
    t.print();
    println!("sft: m/N best-of-N winners fitted by maximum likelihood; rlhf_offline: Eq. 8 on m/2 pairs from pi_base; rlhf_online: Alg. 1 (triples accumulate, refit on all of them each round, the best round by J_beta returned); rlhf_online_onestep: one Adam step per fresh triple");
    Ok(())
}
