//! `sharpen bon`: a best-of-N sweep.

use sharpening_lab::reward::Reward;
use sharpening_lab::sharpen::{run_bon_with, BonParams};

use super::{fail, print_json, progress_printer, sampling, task_and_model};
use crate::args::Args;
use crate::table::{f3, opt3, Table};

pub fn bon(raw: &[String]) -> Result<(), String> {
    let a = Args::parse(raw, &["json", "quiet"])?;
    let (task, model, source) = task_and_model(&a)?;
    let d = BonParams::default();
    let p = BonParams {
        n: a.list("n", &d.n)?,
        // A number, or a prompt-set file (then every prompt of it).
        prompts: a.str("prompts").and_then(|v| v.parse().ok()).unwrap_or(if a.str("prompts").is_some() { task.num_problems() } else { d.prompts }),
        rewards: Reward::parse_list(&a.str("reward").unwrap_or_else(|| "all".into())).map_err(fail)?,
        sampling: sampling(&a, task.as_ref())?,
        seed: a.get("seed", d.seed)?,
        threshold: a.get("threshold", d.threshold)?,
    };
    let json = a.flag("json");
    let quiet = a.flag("quiet") || json;
    let backend = a.str("backend").unwrap_or_default();
    let weights = a.str("gpu-weights").unwrap_or_default();
    a.finish()?;
    let (r, ran) = super::backend::with_backend(&backend, &weights, &model, &mut |dec| {
        run_bon_with(&model, task.as_ref(), &p, &mut progress_printer("sampling prompts", quiet), dec).map(|r| r.report)
    })?;
    if json {
        let mut params = serde_json::to_value(&p).map_err(|e| e.to_string())?;
        if ran == (super::backend::Ran::Gpu { f16: true }) {
            // f16 weights change the numbers: the export says so.
            params["gpu_weights"] = "f16".into();
        }
        print_json("bon", task.as_ref(), &model, &source, p.seed, &params, &r);
        return Ok(());
    }
    println!(
        "best-of-N on task {} ({} prompts, {} marked; model {} {}; seed {})",
        task.name(), r.prompts, r.marked_prompts, source, model.short_hash(), p.seed
    );
    println!("accuracy = share of selected answers the oracle accepts (estimate over `trials` best-of-N draws)");
    if !r.exact {
        println!("free-text answers: y* = the most likely of the samples of each prompt; 'one sample' is the share of all samples that are right (estimates)");
    }
    let mut t = Table::new(&["N", "reward", "accuracy", "acc marked", "P[=y*]", "theory y*", "pass@N", "trials"]);
    for row in &r.rows {
        t.row(vec![
            row.n.to_string(), row.reward.name().into(), f3(row.accuracy), opt3(row.accuracy_marked),
            f3(row.y_star_rate), f3(row.y_star_theory), f3(row.pass_at_n), row.trials.to_string(),
        ]);
    }
    t.print();
    println!("references: greedy {} (greedy = y* on {}), one sample {} ({}), y* correct on {} of prompts",
        f3(r.greedy_accuracy), f3(r.greedy_is_y_star), f3(r.sample_accuracy_exact), if r.exact { "exact" } else { "estimated" }, f3(r.y_star_accuracy));
    if r.exact {
        println!("exact: mean pi(y*) {}, C_cov {:.2} (Eq. 6), largest unlisted mass {:.1e}", f3(r.p_star), r.c_cov, r.max_leftover);
    } else {
        println!("estimated: mean pi(y*) {:.3e} over free-text answers, C_cov {:.3e} (Eq. 6)", r.p_star, r.c_cov);
    }
    Ok(())
}
