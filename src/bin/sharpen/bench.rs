//! `sharpen bench`: throughput of the built-in model on this machine, and the
//! model FLOP utilisation (MFU): achieved model FLOP/s divided by the f32 matmul
//! FLOP/s candle reaches on a 512x512x512 product measured in the same run.
//!
//! Model FLOPs count `2 x (matmul weights)` per token processed (the standard
//! estimate; attention over the short context adds under 2% here and is left
//! out, so MFU is slightly underestimated).

use std::time::Instant;

use candle_core::{Device, Tensor};
use serde_json::json;
use sharpening_lab::score::{score, Scored};
use sharpening_lab::sharpen::bon::choose_problems;
use sharpening_lab::sharpen::train_step::{nll_loss, step, Example};
use sharpening_lab::model::Model;
use sharpening_lab::tasks::Task;
use sharpening_lab::throughput::{decode_speed, sampling_speed, time_fastest};

use crate::args::Args;
use crate::commands::{fail, task_and_model};
use crate::table::Table;

fn clock() -> f64 {
    thread_local!(static START: Instant = Instant::now());
    START.with(|s| s.elapsed().as_secs_f64())
}

fn time<F: FnMut() -> Result<(), String>>(min_secs: f64, mut f: F) -> Result<f64, String> {
    time_fastest(&clock, min_secs, &mut || f().map_err(sharpening_lab::Error::Other)).map_err(|e| e.to_string())
}

pub fn run(raw: &[String]) -> Result<(), String> {
    let a = Args::parse(raw, &["json", "quick", "lora"])?;
    let t0 = clock();
    let (task, model, source) = task_and_model(&a)?;
    let load_s = clock() - t0;
    let quick = a.flag("quick");
    let json_out = a.flag("json");
    let new_tokens: usize = a.get("tokens", 64)?;
    if a.flag("lora") {
        return lora_bench(a, task.as_ref(), &model, &source, quick, json_out);
    }
    a.finish()?;
    let secs = if quick { 0.2 } else { 2.0 };
    if !task.enumerable() {
        return decode_bench(&model, task.as_ref(), &source, load_s, new_tokens, secs, json_out);
    }
    let cfg = model.llama.config().clone();
    let fpt = cfg.flops_per_token();

    // Reference: f32 matmul throughput of candle on this machine.
    let m = 512;
    let x = Tensor::randn(0f32, 1.0, (m, m), &Device::Cpu).map_err(|e| e.to_string())?;
    let y = Tensor::randn(0f32, 1.0, (m, m), &Device::Cpu).map_err(|e| e.to_string())?;
    let t_mm = time(secs, || x.matmul(&y).map(|_| ()).map_err(|e| e.to_string()))?;
    let peak = 2.0 * (m * m * m) as f64 / t_mm;

    let problems = choose_problems(task.as_ref(), 8, 0);
    let prompts: Vec<Vec<u32>> = problems.iter().map(|q| model.tok.encode_prompt(&q.prompt)).collect::<Result<_, _>>().map_err(fail)?;
    let mut rows = Vec::new();
    for n in [1usize, 16, 64] {
        let s = sampling_speed(&model, task.as_ref(), n, secs, &clock).map_err(fail)?;
        rows.push(json!({"what": format!("sampling N={n}"), "tokens_per_s": s.tokens_per_s,
            "mfu": s.processed as f64 * fpt / s.seconds_per_round / peak, "tokens": s.tokens}));
    }

    // Scoring: log-likelihood of 256 full answers in one batch.
    let answers: Vec<Vec<u32>> = problems.iter().map(|q| {
        let mut a = model.tok.encode(&q.answer).unwrap_or_default();
        a.push(model.tok.eos);
        a
    }).collect();
    let items: Vec<Scored> = (0..256).map(|i| Scored { prompt: &prompts[i % 8], continuation: &answers[i % 8] }).collect();
    let scored_tokens: usize = items.iter().map(|s| s.continuation.len()).sum();
    let processed: usize = items.iter().map(|s| s.prompt.len() + s.continuation.len()).sum();
    let t = time(secs, || score(&model.llama, &items).map(|_| ()).map_err(fail))?;
    rows.push(json!({"what": "scoring (batch 256)", "tokens_per_s": scored_tokens as f64 / t,
        "mfu": processed as f64 * fpt / t / peak, "tokens": scored_tokens}));

    // One SFT step: forward + backward + AdamW on a batch of 16.
    let tr = model.trainable_copy().map_err(fail)?;
    let vars = tr.sorted_vars();
    let mut opt = candle_nn::AdamW::new_lr(vars.clone(), 1e-3).map_err(|e| e.to_string())?;
    let batch: Vec<Example> = (0..16).map(|i| Example { prompt: prompts[i % 8].clone(), target: answers[i % 8].clone() }).collect();
    let tokens: usize = batch.iter().map(|e| e.prompt.len() + e.target.len() - 1).sum();
    let t = time(secs, || {
        let loss = nll_loss(&tr.train, &batch).map_err(fail)?;
        step(&mut opt, &vars, &loss, 1.0).map(|_| ()).map_err(fail)
    })?;
    // forward + backward ~ 3x the forward FLOPs
    rows.push(json!({"what": "SFT step (batch 16)", "step_ms": t * 1e3, "tokens_per_s": tokens as f64 / t,
        "mfu": 3.0 * tokens as f64 * fpt / t / peak, "tokens": tokens}));

    if json_out {
        println!("{}", json!({"command": "bench", "version": sharpening_lab::VERSION, "model": source,
            "model_sha256": model.weights_sha256, "params": cfg.num_params(), "flops_per_token": fpt,
            "threads": candle_core::utils::get_num_threads(), "matmul_gflops": peak / 1e9, "rows": rows}));
        return Ok(());
    }
    println!("bench: model {source} {} ({} params, {:.2} MFLOP/token), candle threads {}",
        model.short_hash(), cfg.num_params(), fpt / 1e6, candle_core::utils::get_num_threads());
    println!("reference: f32 matmul 512^3 at {:.1} GFLOP/s (measured now)", peak / 1e9);
    let mut t = Table::new(&["workload", "tokens/s", "MFU", "note"]);
    for r in &rows {
        let note = r.get("step_ms").and_then(|v| v.as_f64()).map_or(String::new(), |ms| format!("{ms:.1} ms/step"));
        t.row(vec![r["what"].as_str().unwrap().into(), format!("{:.0}", r["tokens_per_s"].as_f64().unwrap()),
            format!("{:.1}%", 100.0 * r["mfu"].as_f64().unwrap()), note]);
    }
    t.print();
    println!("MFU = model FLOP/s / matmul FLOP/s; tokens/s counts sampled tokens (with </s>), scored answer tokens, or trained tokens");
    Ok(())
}

/// A real model: load time, prefill, and decoding tokens/s at batch 1 and
/// N = 16 (`--tokens` new tokens per row, default 64) on the set's first prompt.
fn decode_bench(model: &Model, task: &dyn Task, source: &str, load_s: f64, new_tokens: usize, secs: f64, json_out: bool) -> Result<(), String> {
    let q = &choose_problems(task, 1, 0)[0];
    let prompt = model.tok.encode_prompt(&q.prompt).map_err(fail)?;
    let mut rows = Vec::new();
    for n in [1usize, 16] {
        let s = decode_speed(model, &prompt, n, new_tokens, secs, &clock).map_err(fail)?;
        rows.push(json!({"batch": n, "new_tokens": new_tokens, "prefill_ms": s.prefill_s * 1e3, "tokens_per_s": s.tokens_per_s}));
    }
    let threads = candle_core::utils::get_num_threads();
    if json_out {
        println!("{}", json!({"command": "bench", "version": sharpening_lab::VERSION, "model": source,
            "model_sha256": model.weights_sha256, "weights": model.llama.weights_kind(), "threads": threads,
            "load_s": load_s, "prompt_tokens": prompt.len(), "rows": rows}));
        return Ok(());
    }
    println!("bench: model {source} {} ({}), candle threads {threads}", model.short_hash(), model.llama.weights_kind());
    println!("load (read, hash, convert): {load_s:.2} s; prompt of {} tokens", prompt.len());
    let mut t = Table::new(&["batch", "new tokens/row", "prefill ms", "decode tokens/s"]);
    for r in &rows {
        t.row(vec![r["batch"].to_string(), r["new_tokens"].to_string(), format!("{:.1}", r["prefill_ms"].as_f64().unwrap()),
            format!("{:.1}", r["tokens_per_s"].as_f64().unwrap())]);
    }
    t.print();
    println!("decode tokens/s: sampled tokens per second over all rows at temperature 1, prefill excluded, end-of-text ignored");
    Ok(())
}

/// `sharpen bench --lora`: one LoRA step in each way `lora_sft::speed`
/// measures, with ratios against the plain step measured in the same run.
fn lora_bench(a: Args, task: &dyn Task, model: &Model, source: &str, quick: bool, json_out: bool) -> Result<(), String> {
    use sharpening_lab::sharpen::lora_sft::{speed, LoraParams};
    let d = LoraParams::default();
    let p = LoraParams { batch: a.get("batch", d.batch)?, layers: a.get("layers", d.layers)?, rank: a.get("rank", d.rank)?, ..d };
    let answer: usize = a.get("answer-tokens", 16)?;
    a.finish()?;
    let r = speed::measure(model, task, &p, answer, if quick { 1 } else { 3 }, true, &clock).map_err(fail)?;
    let threads = candle_core::utils::get_num_threads();
    if json_out {
        println!("{}", serde_json::to_string_pretty(&json!({"version": sharpening_lab::VERSION, "model": source, "model_sha256": model.weights_sha256, "threads": threads, "lora_step": r})).map_err(|e| e.to_string())?);
        return Ok(());
    }
    println!(
        "LoRA step (rank {}, batch {}, {} tokens per example of which {} answer tokens): model {source} {}, candle threads {threads}",
        p.rank, r.batch, r.tokens, r.answer_tokens, model.short_hash()
    );
    let mut t = crate::table::Table::new(&["variant", "ms per step", "speed-up vs plain"]);
    for v in &r.variants {
        t.row(vec![v.variant.clone(), format!("{:.0}", v.ms), format!("{:.2}x", v.speedup)]);
    }
    t.print();
    println!("the last variant adapts the top {} of {} blocks; each time is the mean of {} steps after one warm-up step (wall clock, forward + backward + AdamW)", r.layers, r.blocks, r.variants[0].steps);
    Ok(())
}
