//! `sharpen closed-form`, `sharpen gap`, `sharpen efficiency`: the views that
//! make the theory tangible (closed form vs token temperature, the
//! generation-verification gap, SFT vs RLHF sample efficiency).

use serde_json::json;
use sharpening_lab::sharpen::closed_form::compare;
use sharpening_lab::sharpen::efficiency::{run_efficiency, EfficiencyParams};
use sharpening_lab::sharpen::gap::generation_verification_gap;

use super::{envelope, fail, progress_printer, task_and_model};
use crate::args::Args;
use crate::table::{f3, Table};

pub fn closed_form(raw: &[String]) -> Result<(), String> {
    let a = Args::parse(raw, &["json"])?;
    let (task, model, source) = task_and_model(&a)?;
    let prompt = a.str("prompt").unwrap_or_else(|| task.problem(0).prompt);
    let beta: f64 = a.get("beta", 1.0)?;
    let threshold: f64 = a.get("threshold", 1e-6)?;
    let scan: usize = a.get("scan", 400)?;
    let show: usize = a.get("show", 12)?;
    let json = a.flag("json");
    a.finish()?;
    let r = compare(&model, task.as_ref(), &prompt, beta, threshold, scan).map_err(fail)?;
    if json {
        let params = json!({"prompt": prompt, "beta": beta, "threshold": threshold, "scan": scan});
        println!("{}", envelope("closed-form", task.as_ref(), &model, &source, 0, params, serde_json::to_value(&r).unwrap()));
        return Ok(());
    }
    println!("{:?} (correct {}): base pi_base, closed form pi*_beta ∝ pi_base^(1+1/beta) with beta {} (sequence temperature {:.3}), and token-level sampling at temperature {:.3}; model {} {}",
        r.prompt, r.answer, beta, r.tau, r.tau, source, model.short_hash());
    let mut t = Table::new(&["answer", "oracle", "pi_base", "pi*_beta", "token temp"]);
    for row in r.rows.iter().take(show) {
        t.row(vec![row.text.clone(), if row.correct { "right" } else { "wrong" }.into(), f3(row.p_base), f3(row.p_closed_form), f3(row.p_token_temp)]);
    }
    t.print();
    println!("KL(token-level || pi*_beta) = {:.4} nats; y* = {:?}; greedy = {:?} ({})",
        r.kl_token_to_closed_form, r.y_star.as_deref().unwrap_or("-"), r.greedy, if r.greedy_is_y_star { "= y*" } else { "misses y*, Prop. E.2" });
    println!("over the first {} prompts: KL(token-level || pi*_beta) mean {:.4}, largest {:.4} at {}", r.scanned, r.kl_token_scan_mean, r.kl_token_scan_max, r.kl_token_scan_max_prompt);
    println!("greedy decoding misses y* on {} of the first {} prompts of the task", r.greedy_misses.len(), r.scanned);
    for m in r.greedy_misses.iter().take(10) {
        println!("  {}  y* {:?} (p {:.3})  greedy {:?} (p {:.3})", m.prompt, m.y_star, m.p_star, m.greedy, m.p_greedy);
    }
    Ok(())
}

pub fn gap(raw: &[String]) -> Result<(), String> {
    let a = Args::parse(raw, &["json"])?;
    let (task, model, source) = task_and_model(&a)?;
    let prompts: usize = a.get("prompts", 200)?;
    let seed: u64 = a.get("seed", 0)?;
    let threshold: f64 = a.get("threshold", 1e-4)?;
    let json = a.flag("json");
    a.finish()?;
    let r = generation_verification_gap(&model, task.as_ref(), prompts, seed, threshold).map_err(fail)?;
    if json {
        let params = json!({"prompts": prompts, "threshold": threshold});
        println!("{}", envelope("gap", task.as_ref(), &model, &source, seed, params, serde_json::to_value(&r).unwrap()));
        return Ok(());
    }
    println!("generation-verification gap on task {} ({} prompts; model {} {}; exact over enumerated answers)", r.task, r.prompts, source, model.short_hash());
    let mut t = Table::new(&["sample accuracy", "verifier AUC", "reweighted accuracy", "gap", "relative gap"]);
    t.row(vec![f3(r.sample_accuracy), f3(r.verifier_auc), f3(r.reweighted_accuracy), format!("{:+.3}", r.gap), format!("{:+.3}", r.relative_gap)]);
    t.print();
    println!("AUC = P[log P(Y) of a right answer > that of a wrong one] (over {} prompts with both); reweighted = pi(y) P(Y|x,y), renormalised", r.auc_prompts);
    Ok(())
}

pub fn efficiency(raw: &[String]) -> Result<(), String> {
    let a = Args::parse(raw, &["json", "quiet"])?;
    let (task, model, source) = task_and_model(&a)?;
    let d = EfficiencyParams::default();
    let p = EfficiencyParams {
        prompts: a.get("prompts", d.prompts)?,
        sft_n: a.list("sft-n", &d.sft_n)?,
        sft_steps: a.get("sft-steps", d.sft_steps)?,
        rlhf_steps: a.get("rlhf-steps", d.rlhf_steps)?,
        beta: a.get("beta", d.beta)?,
        gamma: a.get("gamma", d.gamma)?,
        seed: a.get("seed", d.seed)?,
    };
    let json = a.flag("json");
    let quiet = a.flag("quiet") || json;
    a.finish()?;
    let r = run_efficiency(&model, task.as_ref(), &p, &mut progress_printer("steps", quiet)).map_err(fail)?;
    if json {
        println!("{}", envelope("efficiency", task.as_ref(), &model, &source, p.seed, json!(p), serde_json::to_value(&r).unwrap()));
        return Ok(());
    }
    println!("sample efficiency on task {}: {} prompts, C_cov {:.2}, base pi(y*) {:.3}; model {} {}; seed {}", task.name(), r.prompts, r.c_cov, r.p_star_base, source, model.short_hash(), p.seed);
    let mut t = Table::new(&["method", "samples from pi_base", "pi(y*)", "sharpened", "accuracy"]);
    for s in &r.sft {
        t.row(vec![format!("SFT, N={}", s.n), s.point.samples.to_string(), f3(s.point.p_star), f3(s.point.sharpened), f3(s.point.accuracy)]);
    }
    for s in &r.rlhf {
        t.row(vec!["RLHF, N=2".into(), s.samples.to_string(), f3(s.p_star), f3(s.sharpened), f3(s.accuracy)]);
    }
    t.print();
    println!("SFT rows: after {} steps on the best-of-N answers; RLHF rows: offline Eq. 8 pairs, beta {}, every evaluation (exact metrics)", p.sft_steps, p.beta);
    println!("{}", sharpening_lab::sharpen::eval::Target { delta: sharpening_lab::sharpen::SftParams::default().delta, gamma: p.gamma }.meaning());
    Ok(())
}
