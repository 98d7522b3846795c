//! `sharpen rlhf`: RLHF-Sharpening (Eq. 8, offline; Alg. 1, online) with the
//! exact per-step metrics of `sft` plus the distance to the closed form.

use sharpening_lab::sharpen::eval::Target;
use sharpening_lab::sharpen::{run_rlhf, RlhfParams};

use super::{fail, print_json, progress_printer, sampling, task_and_model};
use crate::args::Args;
use crate::table::{f3, opt3, Table};

pub fn rlhf(raw: &[String]) -> Result<(), String> {
    let a = Args::parse(raw, &["json", "quiet", "online"])?;
    let (task, model, source) = task_and_model(&a)?;
    let d = RlhfParams::default();
    let p = RlhfParams {
        prompts: a.get("prompts", d.prompts)?,
        beta: a.get("beta", d.beta)?,
        steps: a.get("steps", d.steps)?,
        lr: a.get("lr", d.lr)?,
        pairs: a.get("pairs", d.pairs)?,
        online: a.flag("online"),
        alpha: a.get("alpha", d.alpha)?,
        clip: a.get("clip", d.clip)?,
        delta: a.get("delta", d.delta)?,
        gamma: a.get("gamma", d.gamma)?,
        eval_every: a.get("eval-every", d.eval_every)?,
        sampling: sampling(&a, task.as_ref())?,
        threshold: a.get("threshold", d.threshold)?,
        seed: a.get("seed", d.seed)?,
    };
    let json = a.flag("json");
    let quiet = a.flag("quiet") || json;
    a.finish()?;
    if p.online && p.alpha == 0.0 {
        eprintln!("warning: --online with alpha 0 has no optimism term: nothing pushes the model to explore (give --alpha, e.g. 0.01)");
    }
    let r = run_rlhf(&model, task.as_ref(), &p, &mut progress_printer("steps", quiet)).map_err(fail)?;
    if json {
        print_json("rlhf", task.as_ref(), &model, &source, p.seed, &p, &r);
        return Ok(());
    }
    println!(
        "RLHF-Sharpening ({}) on task {}: {} prompts, beta {}, {} steps x {} pairs, lr {}; model {} {}; seed {}",
        if p.online { format!("online, alpha {}", p.alpha) } else { "offline pairs, Eq. 8".into() },
        task.name(), r.prompts, p.beta, p.steps, p.pairs, p.lr, source, model.short_hash(), p.seed
    );
    if p.online {
        println!("online: a one-step stochastic approximation of Alg. 1 (fresh pairs each step, one AdamW step on them; Alg. 1 refits on every triple drawn so far); alpha on the paper's scale");
    }
    println!(
        "closed form pi*_beta ∝ pi_base^(1+1/beta) = pi_base^{:.3}; C_cov {:.2} (exact); {} prompts whose y* is wrong; {} pairs skipped (cut off)",
        1.0 + 1.0 / p.beta, r.c_cov, r.wrong_mode_prompts, r.skipped_pairs
    );
    let mut head = vec!["step", "from pi_base"];
    if p.online {
        head.push("from pi");
    }
    head.extend(["loss", "pi(y*)", "sharpened", "accuracy", "acc marked", "E log pi_base", "entropy", "KL base", "KL to pi*"]);
    let mut t = Table::new(&head);
    for s in &r.steps {
        let m = &s.metrics;
        let mut cells = vec![m.step.to_string(), s.samples_drawn.to_string()];
        if p.online {
            cells.push(s.samples_policy.to_string());
        }
        cells.extend([
            opt3(m.loss), f3(m.p_star), f3(m.sharpened), f3(m.accuracy), opt3(m.accuracy_marked), f3(m.mean_logp_base), f3(m.entropy), f3(m.kl),
            format!("{:.4}", s.kl_to_closed_form),
        ]);
        t.row(cells);
    }
    t.print();
    println!(
        "all metrics exact over the listed answers (unlisted mass of the base model <= {:.1e}; expectations, entropy and KLs are sums over the listed mass); KL in nats; samples = draws so far",
        r.max_leftover
    );
    println!("{}", Target { delta: p.delta, gamma: p.gamma }.meaning());
    super::sft::warn_uncertified(r.uncertified_prompts);
    Ok(())
}
