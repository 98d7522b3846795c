//! GPU benchmarks (`sharpen gpu-bench`), GPU and CPU path in the same run:
//! matmul GFLOP/s of each kernel at several sizes (`2 m n k` flops per
//! product), and batched greedy decoding tokens/s of a model, the GPU
//! decoder against `Llama::forward` with a KV cache (candle).

use std::collections::HashMap;

use candle_core::{Device, Tensor};

use super::decoder::{GpuDecoder, GpuModel};
use super::kernels::{run, Kernels, Op, TILED_VARIANTS};
use super::{Gpu, Precision};
use crate::decode::{block_on, on_cpu};
use crate::error::Result;
use crate::model::{Config, Llama};
use crate::throughput::time_fastest;

#[derive(Clone, Debug, serde::Serialize)]
pub struct MatmulRow {
    pub kernel: String,
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub gpu_gflops: f64,
    /// candle's CPU matmul on the same shapes (None when skipped).
    pub cpu_gflops: Option<f64>,
}

/// Deterministic values in [-a, a) (a cheap LCG: benchmark data only).
pub fn filler(n: usize, a: f32, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * a
        })
        .collect()
}

/// GFLOP/s of `op` (repeated in one submission so a run lasts ~20 ms+).
fn gpu_rate(gpu: &Gpu, make: &dyn Fn() -> Op, flops: f64, clock: &dyn Fn() -> f64) -> Result<f64> {
    let reps = ((2e10 / flops).ceil() as usize).clamp(1, 256);
    let ops: Vec<Op> = (0..reps).map(|_| make()).collect();
    let t = time_fastest(clock, 0.5, &mut || run(gpu, &ops))?;
    Ok(flops * reps as f64 / t / 1e9)
}

/// Each kernel at each `(m, n, k)`; the CPU timed when `cpu` is set.
pub fn matmul_rows(gpu: &Gpu, kern: &Kernels, sizes: &[(usize, usize, usize)], cpu: bool, clock: &dyn Fn() -> f64) -> Result<Vec<MatmulRow>> {
    let mut rows = Vec::new();
    for &(m, n, k) in sizes {
        let (x, w) = (filler(m * k, 1.0, 1), filler(n * k, 1.0, 2));
        let flops = 2.0 * (m * n * k) as f64;
        let cpu_gflops = if cpu {
            let (xt, wt) = (Tensor::from_vec(x.clone(), (m, k), &Device::Cpu)?, Tensor::from_vec(w.clone(), (n, k), &Device::Cpu)?);
            let t = time_fastest(clock, 0.5, &mut || {
                xt.matmul(&wt.t()?)?;
                Ok(())
            })?;
            Some(flops / t / 1e9)
        } else {
            None
        };
        let (bx, by) = (gpu.upload("x", &x)?, gpu.zeros("y", m * n)?);
        let bw = [gpu.upload_weight("w", &w, Precision::F32)?, gpu.upload_weight("w", &w, Precision::F16)?];
        let mut kernels: Vec<(String, Box<dyn Fn() -> Op>)> = vec![];
        for w in &bw {
            let p = w.precision.name();
            for (v, (tm, bk)) in TILED_VARIANTS.iter().enumerate() {
                let (bx, by) = (&bx, &by);
                let f: Box<dyn Fn() -> Op> = Box::new(move || kern.matmul_tiled(gpu, v, bx, w, by, m, n, k, false));
                kernels.push((format!("tiled {}x{} (TM {tm}, BK {bk}), {p} w", 16 * tm, 16 * tm), f));
            }
            if m <= 64 {
                let (bx, by) = (&bx, &by);
                kernels.push((format!("skinny (8 rows per pass), {p} w"), Box::new(move || kern.matmul_skinny(gpu, bx, w, by, m, n, k, false))));
            }
        }
        for (name, make) in &kernels {
            rows.push(MatmulRow { kernel: name.clone(), m, n, k, gpu_gflops: gpu_rate(gpu, make.as_ref(), flops, clock)?, cpu_gflops });
        }
    }
    Ok(rows)
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct DecodeRow {
    pub rows: usize,
    pub gpu_tokens_per_s: f64,
    pub cpu_tokens_per_s: f64,
}

fn argmax_rows(logits: &[f32], rows: usize) -> Vec<u32> {
    let v = logits.len() / rows;
    (0..rows)
        .map(|r| logits[r * v..(r + 1) * v].iter().enumerate().fold((0, f32::NEG_INFINITY), |b, (i, &x)| if x > b.1 { (i, x) } else { b }).0 as u32)
        .collect()
}

/// Greedy decoding of `new_tokens` tokens for `rows` copies of `prompt`,
/// timed after the prompt: GPU decoder vs `llama` on the CPU (`cpu_known`:
/// the CPU's tokens/s per batch size already measured in this run, reused).
#[allow(clippy::too_many_arguments)]
pub fn decode_rows(
    gm: &GpuModel,
    llama: &Llama,
    batches: &[usize],
    prompt: &[u32],
    new_tokens: usize,
    cpu_known: &HashMap<usize, f64>,
    clock: &dyn Fn() -> f64,
) -> Result<Vec<DecodeRow>> {
    let mut out = Vec::new();
    for &rows in batches {
        let mut dec = GpuDecoder::new(gm, rows, prompt.len() + new_tokens)?;
        let gpu_t = time_fastest(clock, 1.0, &mut || {
            let mut logits = pollster::block_on(dec.prompt_async(prompt))?;
            for _ in 0..new_tokens {
                logits = dec.step(&argmax_rows(&logits, rows))?;
            }
            Ok(())
        })?;
        // The prompt's cost on its own, to subtract.
        let gpu_prompt = time_fastest(clock, 0.5, &mut || pollster::block_on(dec.prompt_async(prompt)).map(|_| ()))?;
        let tokens = (rows * new_tokens) as f64;
        if let Some(&cpu) = cpu_known.get(&rows) {
            out.push(DecodeRow { rows, gpu_tokens_per_s: tokens / (gpu_t - gpu_prompt).max(1e-9), cpu_tokens_per_s: cpu });
            continue;
        }
        // The CPU backend the model decodes with (8-bit for a quantised model).
        let mut cpu_prompt = 0.0;
        let cpu_t = time_fastest(clock, 1.0, &mut || {
            let t0 = clock();
            let mut dec = on_cpu(llama);
            let mut next = argmax_rows(&block_on(dec.start(prompt, rows, prompt.len() + new_tokens))?.concat(), rows);
            let t1 = clock();
            for _ in 0..new_tokens {
                next = argmax_rows(&block_on(dec.next(&next))?.concat(), rows);
            }
            cpu_prompt = t1 - t0;
            Ok(())
        })?;
        out.push(DecodeRow {
            rows,
            gpu_tokens_per_s: tokens / (gpu_t - gpu_prompt).max(1e-9),
            cpu_tokens_per_s: tokens / (cpu_t - cpu_prompt).max(1e-9),
        });
    }
    Ok(out)
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct ScoreRow {
    /// Answers scored, each `answer_tokens` long after one shared prompt of
    /// `prompt_tokens`.
    pub answers: usize,
    pub prompt_tokens: usize,
    pub answer_tokens: usize,
    /// Scored (answer) tokens per second.
    pub gpu_tokens_per_s: f64,
    pub cpu_tokens_per_s: f64,
    /// Prefill of the prompt alone, milliseconds.
    pub gpu_prefill_ms: f64,
    pub cpu_prefill_ms: f64,
}

/// Scoring `answers` continuations of `answer_tokens` after one prompt of
/// `prompt_tokens` (best-of-N's and the explorer's shape): GPU passes vs
/// `score::token_logps` on the CPU; and the prompt's prefill alone. `cpu_known`:
/// the CPU's (tokens/s, prefill ms) already measured in this run, reused.
pub fn score_rows(gm: &GpuModel, llama: &Llama, answers: usize, prompt_tokens: usize, answer_tokens: usize, cpu_known: Option<(f64, f64)>, clock: &dyn Fn() -> f64) -> Result<ScoreRow> {
    let v = gm.config().vocab_size as u32;
    let prompt: Vec<u32> = (0..prompt_tokens as u32).map(|i| (i * 131 + 7) % v).collect();
    let conts: Vec<Vec<u32>> = (0..answers as u32).map(|a| (0..answer_tokens as u32).map(|i| (a * 977 + i * 61 + 3) % v).collect()).collect();
    let items: Vec<crate::score::Scored> = conts.iter().map(|c| crate::score::Scored { prompt: &prompt, continuation: c }).collect();
    let mut dec = GpuDecoder::new(gm, answers.min(64), prompt_tokens + answer_tokens)?;
    let gpu_t = time_fastest(clock, 1.0, &mut || dec.token_logps(&items).map(|_| ()))?;
    let mut one = GpuDecoder::new(gm, 1, prompt_tokens)?;
    let gpu_prefill = time_fastest(clock, 0.5, &mut || pollster::block_on(one.prompt_async(&prompt)).map(|_| ()))?;
    let tokens = (answers * answer_tokens) as f64;
    let (cpu_t, cpu_prefill) = match cpu_known {
        Some((rate, ms)) => (tokens / rate, ms / 1e3),
        None => {
            let t = time_fastest(clock, 1.0, &mut || crate::score::token_logps(llama, &items).map(|_| ()))?;
            (t, time_fastest(clock, 0.5, &mut || block_on(on_cpu(llama).start(&prompt, 1, prompt_tokens)).map(|_| ()))?)
        }
    };
    Ok(ScoreRow {
        answers,
        prompt_tokens,
        answer_tokens,
        gpu_tokens_per_s: tokens / gpu_t,
        cpu_tokens_per_s: tokens / cpu_t,
        gpu_prefill_ms: gpu_prefill * 1e3,
        cpu_prefill_ms: cpu_prefill * 1e3,
    })
}

/// Model shapes for benchmarks without a model file (random weights: the
/// speed does not depend on the values).
pub fn synthetic_config(name: &str) -> Option<Config> {
    // (hidden, ffn, layers, heads, kv heads, vocab)
    let (d, f, l, h, kv, v) = match name {
        // A smoke test for software adapters.
        "tiny" => (64, 128, 2, 4, 2, 512),
        "smollm2-135m" => (576, 1536, 30, 9, 3, 49152),
        "smollm2-360m" => (960, 2560, 32, 15, 5, 49152),
        "smollm2-1.7b" => (2048, 8192, 24, 32, 32, 49152),
        _ => return None,
    };
    Some(Config {
        vocab_size: v,
        hidden_size: d,
        intermediate_size: f,
        num_hidden_layers: l,
        num_attention_heads: h,
        num_key_value_heads: Some(kv),
        rms_norm_eps: 1e-5,
        rope_theta: 100_000.0,
        max_position_embeddings: 2048,
        tie_word_embeddings: true,
    })
}

/// Random weights for `cfg` by Hugging Face name (uniform, scaled 1/sqrt(in)).
pub fn synthetic_weights(cfg: &Config) -> Result<HashMap<String, Tensor>> {
    let (d, v) = (cfg.hidden_size, cfg.vocab_size);
    let dev = Device::Cpu;
    let mut w = HashMap::new();
    let mut seed = 0u64;
    let mut mat = |name: String, out: usize, inp: usize, w: &mut HashMap<String, Tensor>| -> Result<()> {
        seed += 1;
        w.insert(name, Tensor::from_vec(filler(out * inp, 1.0 / (inp as f32).sqrt(), seed), (out, inp), &dev)?);
        Ok(())
    };
    use crate::model::names::{self, Projection};
    mat(names::EMBED.into(), v, d, &mut w)?;
    for i in 0..cfg.num_hidden_layers {
        for p in Projection::ALL {
            let (o, inp) = p.shape(cfg);
            mat(names::projection(i, p), o, inp, &mut w)?;
        }
        for n in [names::ATTN_NORM, names::MLP_NORM] {
            w.insert(names::norm(i, n), Tensor::ones(d, candle_core::DType::F32, &dev)?);
        }
    }
    w.insert(names::FINAL_NORM.into(), Tensor::ones(d, candle_core::DType::F32, &dev)?);
    Ok(w)
}
