//! `sharpen margin`: coverage vs margin, the closed form of RLHF-Sharpening
//! swept over beta, each prompt's margin against the beta it needs, and
//! RLHF-Sharpening trained at a few beta.

use serde_json::json;
use sharpening_lab::sharpen::margin::{beta_text, run_margin, MarginParams};

use super::{envelope, fail, progress_printer, task_and_model};
use crate::args::Args;
use crate::table::{f3, Table};

pub fn margin(raw: &[String]) -> Result<(), String> {
    let a = Args::parse(raw, &["json", "quiet"])?;
    let (task, model, source) = task_and_model(&a)?;
    let d = MarginParams::default();
    let p = MarginParams {
        prompts: a.get("prompts", d.prompts)?,
        delta: a.get("delta", d.delta)?,
        eps: a.get("eps", d.eps)?,
        betas: a.list("betas", &d.betas)?,
        train_betas: match a.str("train-betas").as_deref() {
            Some("none") => vec![],
            _ => a.list("train-betas", &d.train_betas)?,
        },
        rlhf_steps: a.get("rlhf-steps", d.rlhf_steps)?,
        threshold: a.get("threshold", d.threshold)?,
        seed: a.get("seed", d.seed)?,
    };
    let json = a.flag("json");
    let quiet = a.flag("quiet") || json;
    a.finish()?;
    let r = run_margin(&model, task.as_ref(), &p, &mut progress_printer("RLHF steps (all runs)", quiet)).map_err(fail)?;
    if json {
        println!("{}", envelope("margin", task.as_ref(), &model, &source, p.seed, json!(p), serde_json::to_value(&r).unwrap()));
        return Ok(());
    }
    println!(
        "coverage vs margin on task {}: {} prompts, C_cov {:.3}, delta {}, eps {} ({}); model {} {}; seed {}",
        task.name(), r.prompts, r.c_cov, p.delta, p.eps, if r.exact { "exact" } else { "some prompts uncertified" }, source, model.short_hash(), p.seed
    );
    let mut t = Table::new(&["beta", "pi*_beta(y*)", "sharpened", "accuracy"]);
    for s in &r.sweep {
        t.row(vec![format!("{}", s.beta), f3(s.p_star), f3(s.sharpened), f3(s.accuracy)]);
    }
    t.print();
    println!("closed form pi*_beta ∝ pi_base^(1+1/beta), exact; sharpened = share of prompts with pi*_beta(y*) >= 1 - delta (Def. 3.1)");
    println!("(eps, delta)-sharpened for beta <= {} (the largest beta at which >= 1 - eps of the prompts are)", beta_text(r.beta_for_eps));
    let mut by_margin: Vec<_> = r.per_prompt.iter().collect();
    by_margin.sort_by(|a, b| b.margin.total_cmp(&a.margin));
    let mut t = Table::new(&["prompt", "y*", "pi(y*)", "runner-up", "margin", "beta needed", "beta from margin"]);
    for m in by_margin.iter().take(12) {
        t.row(vec![m.prompt.clone(), m.y_star.clone(), f3(m.p_star), f3(m.p_second), f3(m.margin), beta_text(m.beta_needed), beta_text(m.beta_from_margin)]);
    }
    t.print();
    println!("the 12 prompts with the largest margin gamma = pi(y*)/pi(runner-up) - 1 (Assumption 4.2); beta needed = largest beta with pi*_beta(y*) >= 1 - delta (exact); beta from margin = log(1+gamma)/log((1-p*)(1-delta)/(p* delta)), what the margin alone guarantees");
    if !r.trained.is_empty() {
        let mut t = Table::new(&["beta", "steps", "pi(y*)", "sharpened", "accuracy", "KL to pi*_beta", "closed form sharpened"]);
        for s in &r.trained {
            t.row(vec![format!("{}", s.beta), s.steps.to_string(), f3(s.p_star), f3(s.sharpened), f3(s.accuracy), format!("{:.4}", s.kl_to_closed_form), f3(s.closed_form_sharpened)]);
        }
        t.print();
        println!("RLHF-Sharpening (offline Eq. 8, one run per beta), exact metrics after the last step");
    }
    Ok(())
}
