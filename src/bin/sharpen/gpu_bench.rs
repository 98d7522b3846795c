//! `sharpen gpu-bench`: the GPU path against the CPU path in the same run, on
//! the adapter wgpu picks (named in the output): matmul GFLOP/s of each
//! kernel at several sizes (with the share of the GPU's f32 peak where the
//! adapter is known), and batched greedy decoding tokens/s of a model (a GGUF
//! file's f32 weights, or a model shape with random weights: speed does not
//! depend on the values), with the weights stored as f32 and as f16
//! (`--weights`), and scoring / prefill passes. Software adapters only show
//! correctness.

use std::time::Instant;

use serde_json::json;
use sharpening_lab::gpu::decoder::GpuModel;
use sharpening_lab::gpu::bench::{decode_rows, matmul_rows, score_rows, synthetic_config, synthetic_weights};
use sharpening_lab::gpu::kernels::Kernels;
use sharpening_lab::gpu::{Gpu, Precision};
use sharpening_lab::model::gguf::{load_gguf, Weights};
use sharpening_lab::model::Llama;

use crate::args::Args;
use crate::commands::fail;
use crate::table::Table;

fn clock() -> f64 {
    thread_local!(static START: Instant = Instant::now());
    START.with(|s| s.elapsed().as_secs_f64())
}

/// Dense f32 peak (GFLOP/s, non-tensor-core FMA) of GPUs we know by name.
fn known_peak(name: &str) -> Option<f64> {
    let n = name.to_uppercase();
    if n.contains("H100") && n.contains("PCIE") {
        Some(51_200.0)
    } else if n.contains("H100") || n.contains("H200") {
        Some(66_900.0)
    } else if n.contains("A100") {
        Some(19_500.0)
    } else {
        None
    }
}

pub fn run(raw: &[String]) -> Result<(), String> {
    let a = Args::parse(raw, &["json"])?;
    let sizes = a.list("sizes", &[256, 1024, 2048, 4096])?;
    let batches = a.list("batches", &[1, 16, 64])?;
    let new_tokens: usize = a.get("tokens", 32)?;
    let shape = a.str("shape").unwrap_or_else(|| "smollm2-135m".into());
    let model_path = a.str("model");
    let peak_arg: Option<f64> = a.str("peak-gflops").map(|s| s.parse().map_err(|_| format!("--peak-gflops {s:?} is not a number"))).transpose()?;
    let json_out = a.flag("json");
    let precisions = a
        .str("weights")
        .unwrap_or_else(|| "f32,f16".into())
        .split(',')
        .map(|w| Precision::parse(w.trim()).map_err(|e| format!("--weights: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    a.finish()?;
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "all".into());

    let gpu = Gpu::new_blocking().map_err(fail)?;
    let kern = Kernels::new(&gpu).map_err(fail)?;
    let peak = peak_arg.or_else(|| known_peak(&gpu.info.name));

    let mut shapes: Vec<(usize, usize, usize)> = sizes.iter().map(|&s| (s, s, s)).collect();
    if let Some(&big) = sizes.iter().max() {
        shapes.extend([(1, big, big), (16, big, big), (64, big, big)]);
    }
    let mm = matmul_rows(&gpu, &kern, &shapes, true, &clock).map_err(fail)?;

    if !json_out {
        println!(
            "GPU: {} ({}, {}{}); f32 peak {}; CPU: candle, RAYON_NUM_THREADS={threads}",
            gpu.info.name,
            gpu.info.backend,
            gpu.info.driver,
            if gpu.info.software { ", software adapter: correctness only" } else { "" },
            peak.map_or("unknown (pass --peak-gflops)".into(), |p| format!("{:.1} TFLOP/s", p / 1e3))
        );
        let mut t = Table::new(&["kernel", "m x n x k", "GPU GFLOP/s", "% of peak", "CPU GFLOP/s", "GPU / CPU"]);
        for r in &mm {
            t.row(vec![
                r.kernel.clone(),
                format!("{}x{}x{}", r.m, r.n, r.k),
                format!("{:.1}", r.gpu_gflops),
                peak.map_or("-".into(), |p| format!("{:.1}", 100.0 * r.gpu_gflops / p)),
                r.cpu_gflops.map_or("-".into(), |c| format!("{c:.1}")),
                r.cpu_gflops.map_or("-".into(), |c| format!("{:.1}", r.gpu_gflops / c)),
            ]);
        }
        t.print();
        println!("matmul: y = x w^T (w stored [n, k] as f32 or f16, as named; f32 arithmetic), 2mnk flops; GPU time per product from back-to-back dispatches in one submission, fastest third");
    }

    let (cfg, weights, what) = match &model_path {
        Some(p) => {
            let bytes = std::fs::read(p).map_err(|e| format!("cannot read {p}: {e}"))?;
            let m = load_gguf(&bytes, Weights::F32).map_err(fail)?;
            (m.llama.config().clone(), m.tensors, p.clone())
        }
        None => {
            let cfg = synthetic_config(&shape).ok_or_else(|| format!("unknown --shape {shape:?}; shapes: tiny, smollm2-135m, smollm2-360m, smollm2-1.7b"))?;
            let w = synthetic_weights(&cfg).map_err(fail)?;
            (cfg, w, format!("{shape} shape, random weights"))
        }
    };
    let vb = candle_nn::VarBuilder::from_tensors(weights.clone(), candle_core::DType::F32, &candle_core::Device::Cpu);
    let llama = Llama::new(&cfg, vb, false).map_err(fail)?;
    let prompt: Vec<u32> = (0..8u32).map(|i| (i * 97 + 13) % cfg.vocab_size as u32).collect();
    if !json_out {
        println!("\ndecoding: {what} ({} parameters), {} prompt tokens then {new_tokens} greedy tokens per row, prompt excluded, logits read back every step", cfg.num_params(), prompt.len());
        println!("  weights  rows  GPU tokens/s  CPU tokens/s  GPU / CPU");
    }
    let (mut dec, mut scores) = (Vec::new(), Vec::new());
    // The CPU's numbers do not depend on the GPU's weight format: measured once.
    let (mut cpu_decode, mut cpu_score) = (std::collections::HashMap::new(), None);
    for &precision in &precisions {
        let gm = GpuModel::new(&gpu, &kern, &cfg, &weights, precision).map_err(fail)?;
        for &b in &batches {
            let r = decode_rows(&gm, &llama, &[b], &prompt, new_tokens, &cpu_decode, &clock).map_err(fail)?.remove(0);
            cpu_decode.insert(b, r.cpu_tokens_per_s);
            if !json_out {
                println!("  {:>7}  {:>4}  {:>12.0}  {:>12.1}  {:>9.1}", precision.name(), r.rows, r.gpu_tokens_per_s, r.cpu_tokens_per_s, r.gpu_tokens_per_s / r.cpu_tokens_per_s);
                use std::io::Write;
                let _ = std::io::stdout().flush();
            }
            dec.push(json!({"weights": precision, "row": r}));
        }
        // Scoring 16 answers of 32 tokens after a 64-token prompt (best-of-N,
        // the explorer) and prefilling that prompt alone.
        let sc = score_rows(&gm, &llama, 16, 64, 32, cpu_score, &clock).map_err(fail)?;
        cpu_score = Some((sc.cpu_tokens_per_s, sc.cpu_prefill_ms));
        if !json_out {
            println!(
                "  scoring ({} weights): {} answers x {} tokens after a {}-token prompt (per-token log pi): GPU {:.0} tokens/s, CPU {:.1} tokens/s ({:.1}x); prefill of the prompt alone: GPU {:.1} ms, CPU {:.1} ms ({:.1}x)",
                precision.name(), sc.answers, sc.answer_tokens, sc.prompt_tokens, sc.gpu_tokens_per_s, sc.cpu_tokens_per_s, sc.gpu_tokens_per_s / sc.cpu_tokens_per_s,
                sc.gpu_prefill_ms, sc.cpu_prefill_ms, sc.cpu_prefill_ms / sc.gpu_prefill_ms
            );
        }
        scores.push(json!({"weights": precision, "row": sc}));
    }
    if json_out {
        let v = json!({"command": "gpu-bench", "version": sharpening_lab::VERSION, "adapter": gpu.info, "peak_gflops": peak,
            "cpu_threads": threads, "matmul": mm, "decode": {"model": what, "params": cfg.num_params(), "prompt_tokens": prompt.len(),
            "new_tokens": new_tokens, "rows": dec}, "score": scores});
        println!("{v}");
    }
    Ok(())
}
