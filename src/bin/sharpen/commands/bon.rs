//! `sharpen bon`: a best-of-N sweep.

use sharpening_lab::reward::Reward;
use sharpening_lab::decode::block_on;
use sharpening_lab::sharpen::{run_bon_on, BonParams};

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
    let real = a.str("model").is_some();
    let weights = a.str("gpu-weights").unwrap_or_default();
    a.finish()?;
    let (r, ran) = super::backend::with_backend(&backend, &weights, &model, real, &mut |dec| {
        block_on(run_bon_on(&model, task.as_ref(), &p, &mut progress_printer("sampling prompts", quiet), dec)).map(|r| r.report)
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
    println!("accuracy = share of selected answers the oracle accepts (estimate over `trials` best-of-N draws, 95% Wilson interval)");
    let q_differs = r.exact && !r.q_is_base;
    if !r.exact {
        println!("free-text answers: y* = the most likely of the samples of each prompt (an estimate), so P[=y*] at the largest N is 1 by construction and there is no theory");
    } else if q_differs {
        println!("samples come from q = pi_base at temperature {} with top-k {} and top-p {}: theory = 1-(1-q(y*))^N (exact); base = 1-(1-pi_base(y*))^N (exact)",
            p.sampling.temperature, p.sampling.top_k, p.sampling.top_p);
    }
    let mut head = vec!["N", "reward", "accuracy", "95% CI", "acc marked", "P[=y*]"];
    if r.exact {
        head.push("theory y*");
    }
    if q_differs {
        head.push("base y*");
    }
    head.extend(["pass@N", "trials"]);
    let mut t = Table::new(&head);
    for row in &r.rows {
        let mut cells = vec![
            row.n.to_string(), row.reward.name().into(), f3(row.accuracy), format!("{}-{}", f3(row.accuracy_ci[0]), f3(row.accuracy_ci[1])),
            opt3(row.accuracy_marked), f3(row.y_star_rate),
        ];
        if r.exact {
            cells.push(opt3(row.y_star_theory));
        }
        if q_differs {
            cells.push(opt3(row.y_star_theory_base));
        }
        cells.extend([f3(row.pass_at_n), row.trials.to_string()]);
        t.row(cells);
    }
    t.print();
    let one = match (r.sample_accuracy_ci, r.sample_accuracy_base) {
        (Some(ci), _) => format!("{} (estimate over {} samples, 95% CI {}-{})", f3(r.sample_accuracy), r.sample_accuracy_samples, f3(ci[0]), f3(ci[1])),
        (None, Some(base)) if q_differs => format!("{} (exact, under q; {} under pi_base)", f3(r.sample_accuracy), f3(base)),
        _ => format!("{} (exact)", f3(r.sample_accuracy)),
    };
    println!("references: greedy {} (greedy = y* on {} of prompts), one sample {one}, y* correct on {} of prompts",
        f3(r.greedy_accuracy), f3(r.greedy_is_y_star), f3(r.y_star_accuracy));
    if r.exact {
        let q = if q_differs { format!(", mean q(y*) {}", opt3(r.q_star)) } else { String::new() };
        println!("exact: mean pi_base(y*) {}{q}, C_cov {:.2} (Eq. 6), largest unlisted mass {:.1e}", f3(r.p_star), r.c_cov, r.max_leftover);
        if r.uncertified_prompts > 0 {
            println!("warning: on {} prompts the unlisted mass is at least pi_base(y*), so y* is not certified as the most likely answer (lower --threshold)", r.uncertified_prompts);
        }
    } else {
        println!("bounds: mean pi_base(y*) >= {:.3e} and C_cov <= {:.3e} (Eq. 6; the most likely of the samples has at most pi_base(y*))", r.p_star, r.c_cov);
        if let Some(c) = r.cut_off {
            println!("cut off: {} of the {} samples hit the token budget (--max-new-tokens) before ending", f3(c), r.sample_accuracy_samples);
        }
    }
    Ok(())
}
