//! `sharpen complexity`: for target `(eps, delta)` pairs, the samples
//! best-of-N and SFT-Sharpening need, beside Thm 4.1 and Thm 3.1.

use serde_json::json;
use sharpening_lab::report::count_text;
use sharpening_lab::sharpen::complexity::{run_complexity, ComplexityParams};

use super::{envelope, fail, progress_printer, task_and_model_or};
use crate::args::Args;
use crate::table::{f3, Table};

fn opt(x: Option<usize>) -> String {
    x.map_or("-".into(), |v| v.to_string())
}

pub fn complexity(raw: &[String]) -> Result<(), String> {
    let a = Args::parse(raw, &["json", "quiet"])?;
    // The low-coverage task is the default: where the sample counts differ.
    let (task, model, source) = task_and_model_or(&a, "lock")?;
    let d = ComplexityParams::default();
    let p = ComplexityParams {
        prompts: a.get("eval-prompts", d.prompts)?,
        eps: a.list("eps", &d.eps)?,
        delta: a.list("delta", &d.delta)?,
        gamma: a.get("gamma", d.gamma)?,
        sft_n: a.list("sft-n", &d.sft_n)?,
        sft_prompts: a.list("sft-prompts", &d.sft_prompts)?,
        sft_steps: a.get("sft-steps", d.sft_steps)?,
        rho: a.get("rho", d.rho)?,
        log_class: a.str("log-class").map(|v| v.parse().map_err(|_| format!("--log-class: cannot read {v:?} as a number"))).transpose()?,
        threshold: a.get("threshold", d.threshold)?,
        seed: a.get("seed", d.seed)?,
    };
    let json = a.flag("json");
    let quiet = a.flag("quiet") || json;
    a.finish()?;
    let r = run_complexity(&model, task.as_ref(), &p, &mut progress_printer("SFT runs", quiet)).map_err(fail)?;
    if json {
        println!("{}", envelope("complexity", task.as_ref(), &model, &source, p.seed, json!(p), serde_json::to_value(&r).unwrap()));
        return Ok(());
    }
    let g = if r.gamma > 0.0 { format!("_gamma (gamma {})", r.gamma) } else { String::new() };
    println!(
        "sample complexity on task {}: {} evaluation prompts, C_cov {:.3}{} ({}); model {} {}; seed {}",
        task.name(),
        r.prompts,
        r.c_cov,
        if r.gamma > 0.0 { format!(", C_cov,gamma {:.3}", r.c_cov_gamma) } else { String::new() },
        if r.exact { "exact".to_string() } else { format!("{} prompts uncertified", r.uncertified_prompts) },
        source,
        model.short_hash(),
        p.seed
    );
    let mut t = Table::new(&["eps", "delta", "BoN N", "SFT N", "SFT n", "SFT n*N", "Thm 4.1 N", "Thm 4.1 n", "Thm 4.1 m", "Thm 3.1 m"]);
    for row in &r.rows {
        t.row(vec![
            f3(row.eps),
            f3(row.delta),
            row.bon_n.to_string(),
            opt(row.sft_n),
            opt(row.sft_prompts),
            opt(row.sft_samples),
            count_text(row.thm41_n),
            count_text(row.thm41_prompts),
            count_text(row.thm41_samples),
            count_text(row.thm31_m),
        ]);
    }
    t.print();
    println!("BoN N: smallest N at which best-of-N by log-likelihood puts >= 1-delta on y*{g} for >= 1-eps of the prompts (exact, Def. 3.1)");
    println!("SFT: the cheapest run of the grid N {:?} x n {:?} ({} steps each, one run per point, trained apart from the evaluation prompts) that gets there; - = none", p.sft_n, p.sft_prompts, p.sft_steps);
    println!("Thm 4.1: N = c C_cov log(2/delta)/eps, n = c log(|Pi|/rho)/(delta eps), rho {}; Thm 3.1: m >= c C_cov log|Pi| / (eps^2 (1 + log(C_cov/eps))); c = 1 (bounds)", r.rho);
    println!("log|Pi| = {:.4e}: {}", r.log_class, r.log_class_source);
    Ok(())
}
