//! `sharpen sft`: SFT-Sharpening with per-step exact metrics.

use sharpening_lab::sharpen::eval::Target;
use std::time::Instant;

use sharpening_lab::model::Model;
use sharpening_lab::reward::Reward;
use sharpening_lab::sharpen::lora_sft::{run_lora_sft, LoraParams};
use sharpening_lab::tasks::Task;
use sharpening_lab::sharpen::{run_sft, SftParams};

use super::{fail, print_json, progress_printer, sampling, task_and_model};
use crate::args::Args;
use crate::table::{f3, opt3, Table};

pub fn sft(raw: &[String]) -> Result<(), String> {
    let a = Args::parse(raw, &["json", "quiet"])?;
    let (task, model, source) = task_and_model(&a)?;
    if !task.enumerable() {
        return lora(a, task.as_ref(), &model, &source);
    }
    let d = SftParams::default();
    let p = SftParams {
        prompts: a.get("prompts", d.prompts)?,
        n: a.get("samples", d.n)?,
        reward: Reward::parse(&a.str("reward").unwrap_or_else(|| "loglik".into())).map_err(fail)?,
        steps: a.get("steps", d.steps)?,
        lr: a.get("lr", d.lr)?,
        batch: a.get("batch", d.batch)?,
        clip: a.get("clip", d.clip)?,
        weight_decay: a.get("weight-decay", d.weight_decay)?,
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
    let r = run_sft(&model, task.as_ref(), &p, &mut progress_printer("dataset prompts + steps", quiet)).map_err(fail)?;
    if json {
        print_json("sft", task.as_ref(), &model, &source, p.seed, &p, &r);
        return Ok(());
    }
    println!(
        "SFT-Sharpening on task {}: {} prompts x N={} samples, reward {}, {} AdamW steps (lr {}, batch {}); model {} {}; seed {}",
        task.name(), r.prompts, p.n, p.reward.name(), p.steps, p.lr, p.batch, source, model.short_hash(), p.seed
    );
    println!(
        "dataset: {} best-of-N answers, {} correct by the oracle; {} marked prompts, {} prompts whose y* is wrong",
        r.dataset_size, f3(r.dataset_accuracy), r.marked_prompts, r.wrong_mode_prompts
    );
    println!(
        "all metrics exact over the listed answers (unlisted mass of the base model <= {:.1e}; expectations, entropy and KL are sums over the listed mass); means over the {} prompts",
        r.max_leftover, r.prompts
    );
    let mut t = Table::new(&["step", "loss", "pi(y*)", "sharpened", "accuracy", "acc marked", "pi(y*) wrong", "E log pi_base", "entropy", "KL"]);
    for s in &r.steps {
        t.row(vec![
            s.step.to_string(), opt3(s.loss), f3(s.p_star), f3(s.sharpened), f3(s.accuracy), opt3(s.accuracy_marked),
            opt3(s.p_star_wrong), f3(s.mean_logp_base), f3(s.entropy), f3(s.kl),
        ]);
    }
    t.print();
    println!("{}; entropy and KL in nats", Target { delta: p.delta, gamma: p.gamma }.meaning());
    warn_uncertified(r.uncertified_prompts);
    Ok(())
}

/// The line that says when some prompt's `y*` is not certified by its enumeration.
pub fn warn_uncertified(n: usize) {
    if n > 0 {
        println!("warning: on {n} prompts the base enumeration's unlisted mass is at least pi_base(y*), so y* is not certified as the most likely answer (lower --threshold)");
    }
}

/// A real model and a free-text prompt set: SFT-Sharpening with LoRA adapters.
fn lora(a: Args, task: &dyn Task, model: &Model, source: &str) -> Result<(), String> {
    let d = LoraParams::default();
    let count = |flag: &str, default: usize| -> Result<usize, String> {
        match a.str(flag) {
            Some(v) if v.parse::<usize>().is_err() => Ok(default), // a file: all of its prompts, up to the default
            _ => a.get(flag, default),
        }
    };
    let prompts = count("prompts", d.prompts)?;
    let p = LoraParams {
        prompts,
        // As many held-out prompts as training prompts unless told.
        eval_prompts: count("eval-prompts", prompts)?,
        n: a.get("samples", d.n)?,
        reward: Reward::parse(&a.str("reward").unwrap_or_else(|| d.reward.name().into())).map_err(fail)?,
        steps: a.get("steps", d.steps)?,
        lr: a.get("lr", d.lr)?,
        batch: a.get("batch", d.batch)?,
        rank: a.get("rank", d.rank)?,
        alpha: a.get("alpha", d.alpha)?,
        layers: a.get("layers", d.layers)?,
        clip: a.get("clip", d.clip)?,
        eval_samples: a.get("eval-samples", d.eval_samples)?,
        sampling: sampling(&a, task)?,
        seed: a.get("seed", d.seed)?,
    };
    let _ = a.str("eval-fraction"); // read by task_and_model
    let save = a.str("save-adapter");
    let json = a.flag("json");
    let quiet = a.flag("quiet") || json;
    a.finish()?;
    let start = Instant::now();
    let clock = move || start.elapsed().as_secs_f64();
    let run = run_lora_sft(model, task, &p, &clock, &mut progress_printer("prompts (dataset, ceiling, evaluation before) + steps + prompts (evaluation after)", quiet)).map_err(fail)?;
    if let Some(dir) = &save {
        // PEFT's folder layout (model::peft): loads with `peft` and `--adapter`.
        let (config, weights) = run.adapter.to_peft(source).map_err(fail)?;
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {dir}: {e}"))?;
        std::fs::write(format!("{dir}/adapter_config.json"), config).map_err(|e| format!("cannot write {dir}/adapter_config.json: {e}"))?;
        std::fs::write(format!("{dir}/adapter_model.safetensors"), weights).map_err(|e| format!("cannot write {dir}/adapter_model.safetensors: {e}"))?;
        if !quiet {
            println!("adapters saved in {dir}/ (adapter_config.json + adapter_model.safetensors, the PEFT layout)");
        }
    }
    let r = run.report;
    if json {
        print_json("sft", task, model, source, p.seed, &p, &r);
        return Ok(());
    }
    println!(
        "SFT-Sharpening with LoRA (rank {}, alpha {}, blocks {}-{}, {} adapter weights) on {}: {} training prompts x N={} samples, reward {}, {} AdamW steps (lr {}, batch {}); {} held-out prompts; model {} {}; seed {}",
        p.rank, p.alpha, r.adapted_layers[0], r.adapted_layers[1] - 1, r.adapter_params, task.name(), r.train.prompts, p.n, p.reward.name(), p.steps, p.lr, p.batch, r.eval.prompts, source, model.short_hash(), p.seed
    );
    println!("dataset: {} best-of-N answers that finished, from {} training prompts; {} of the prompts' best-of-N answers correct by the oracle", r.dataset_size, r.train.prompts, f3(r.dataset_accuracy));
    let mut t = Table::new(&["prompts, model", "sample acc.", "95% CI", "greedy acc.", "mean log pi(y|x)", "cut off"]);
    let ci = |c: [f64; 2]| format!("{}-{}", f3(c[0]), f3(c[1]));
    for (split, s) in [("held out", &r.eval), ("training", &r.train)] {
        for (when, e) in [("before", &s.before), ("after", &s.after)] {
            t.row(vec![format!("{split}, {when}"), f3(e.sample_accuracy), ci(e.sample_accuracy_ci), f3(e.greedy_accuracy), format!("{:.2}", e.sample_logp), f3(e.cut_off)]);
        }
        let c = &s.bon_ceiling;
        t.row(vec![format!("{split}, base best-of-{}", c.n), f3(c.accuracy), ci(c.ci), "-".into(), "-".into(), f3(c.cut_off)]);
    }
    t.print();
    println!(
        "sample accuracy: estimate from {} samples per prompt ({} held out, {} training), 95% Wilson interval; best-of-N accuracy: estimate over the prompts, 95% Wilson interval; greedy accuracy exact for these prompts; mean log pi(y|x): each sample's exact (f32), the mean an estimate over the same samples; cut off = share of answers that hit {} tokens (counted)",
        p.eval_samples, r.eval.before.samples, r.train.before.samples, p.sampling.max_new_tokens
    );
    println!(
        "mean log pi(y_BoN|x) of the training answers (exact): {} before -> {} after; mean step {:.0} ms (forward + backward + AdamW, batch {}); frozen blocks once per example: {:.0} ms in all",
        opt3(r.train.before.dataset_logp), opt3(r.train.after.dataset_logp), r.mean_step_ms, p.batch, r.frozen_ms
    );
    if let (Some(first), Some(last)) = (r.steps.first(), r.steps.last()) {
        println!("loss {:.3} at step 1 -> {:.3} at step {}", first.loss, last.loss, last.step);
    }
    Ok(())
}
