//! The GPU path against the CPU reference, natively through wgpu on whatever
//! adapter the machine has (in CI: Mesa's lavapipe, a software Vulkan
//! device). Every kernel on random inputs of awkward sizes, then whole
//! decoding steps of the built-in models and SmolLM2: logits within the
//! stated tolerance of candle's. Without an adapter the tests say SKIPPED,
//! unless SHARPEN_REQUIRE_GPU=1 (scripts/test.sh sets it), which fails them.

use candle_core::{Device, Tensor};
use sharpening_lab::gpu::decoder::{GpuDecoder, GpuModel};
use sharpening_lab::gpu::Precision;
use sharpening_lab::gpu::kernels::{run, Kernels, TILED_VARIANTS};
use sharpening_lab::gpu::Gpu;
use sharpening_lab::rng::{Rng, Stream};

use crate::common;
use common::{close, gpu};

fn random(n: usize, seed: u64) -> Vec<f32> {
    let mut r = Rng::new(seed, Stream::Fixture { a: 7, b: n as u64 }).unwrap();
    (0..n).map(|_| r.normal() as f32).collect()
}

/// y = x w^T in f64 and the scale of each element (sum of |x||w|).
fn matmul_ref(x: &[f32], w: &[f32], m: usize, n: usize, k: usize) -> (Vec<f32>, Vec<f64>) {
    let (mut y, mut s) = (vec![0f32; m * n], vec![0f64; m * n]);
    for i in 0..m {
        for j in 0..n {
            let (mut acc, mut mag) = (0f64, 0f64);
            for l in 0..k {
                let p = x[i * k + l] as f64 * w[j * k + l] as f64;
                acc += p;
                mag += p.abs();
            }
            y[i * n + j] = acc as f32;
            s[i * n + j] = mag.max(1e-30);
        }
    }
    (y, s)
}

#[test]
fn matmul_kernels_match_the_cpu_on_awkward_sizes() {
    let Some((g, k)) = gpu() else { return };
    for (m, n, kk) in [(1, 1, 1), (3, 5, 7), (8, 9, 64), (17, 33, 65), (33, 70, 130), (70, 129, 37), (129, 67, 200)] {
        let (x, w32, y0) = (random(m * kk, 1), random(n * kk, 2), random(m * n, 3));
        // f16 weights: the reference uses the same rounded values.
        for precision in [Precision::F32, Precision::F16] {
        let w: Vec<f32> = match precision {
            Precision::F32 => w32.clone(),
            Precision::F16 => w32.iter().map(|&v| half::f16::from_f32(v).to_f32()).collect(),
        };
        let (want, scale) = matmul_ref(&x, &w, m, n, kk);
        let (bx, bw) = (g.upload("x", &x).unwrap(), g.upload_weight("w", &w32, precision).unwrap());
        for variant in 0..=TILED_VARIANTS.len() {
            for acc in [false, true] {
                let by = g.upload("y", &y0).unwrap();
                let op = if variant < TILED_VARIANTS.len() {
                    k.matmul_tiled(&g, variant, &bx, &bw, &by, m, n, kk, acc)
                } else {
                    k.matmul_skinny(&g, &bx, &bw, &by, m, n, kk, acc)
                };
                run(&g, &[op]).unwrap();
                let got = g.download(&by, m * n).unwrap();
                let want: Vec<f32> = want.iter().zip(&y0).map(|(a, b)| if acc { a + b } else { *a }).collect();
                // f32 accumulation in another order: relative to sum |x_l w_l| (+ |y0|).
                close(&format!("matmul {m}x{n}x{kk} variant {variant} acc {acc} {precision:?}"), &got, &want, 1e-5, |i| scale[i] + if acc { y0[i].abs() as f64 } else { 0.0 } + 1e-6);
            }
        }
        }
    }
}

#[test]
fn elementwise_kernels_match_candle() {
    let Some((g, k)) = gpu() else { return };
    let dev = Device::Cpu;
    // RMSNorm: candle's fused kernel.
    for (rows, n) in [(1, 1), (3, 7), (5, 300), (2, 1000)] {
        let (x, w) = (random(rows * n, 4), random(n, 5));
        let want = candle_nn::ops::rms_norm(&Tensor::from_vec(x.clone(), (rows, n), &dev).unwrap(), &Tensor::from_vec(w.clone(), n, &dev).unwrap(), 1e-5).unwrap();
        let (bx, bw, by) = (g.upload("x", &x).unwrap(), g.upload("w", &w).unwrap(), g.zeros("y", rows * n).unwrap());
        run(&g, &[k.rms_norm(&g, &bx, &bw, &by, rows, n, 1e-5)]).unwrap();
        close("rms_norm", &g.download(&by, rows * n).unwrap(), &want.flatten_all().unwrap().to_vec1().unwrap(), 1e-5, |_| 1.0);
    }
    // SwiGLU.
    let (rows, n) = (3, 77);
    let gu = random(rows * 2 * n, 6);
    let t = Tensor::from_vec(gu.clone(), (rows, 2 * n), &dev).unwrap();
    let want = (candle_nn::ops::silu(&t.narrow(1, 0, n).unwrap()).unwrap() * t.narrow(1, n, n).unwrap()).unwrap();
    let (bg, by) = (g.upload("gu", &gu).unwrap(), g.zeros("y", rows * n).unwrap());
    run(&g, &[k.swiglu(&g, &bg, &by, rows, n)]).unwrap();
    close("swiglu", &g.download(&by, rows * n).unwrap(), &want.flatten_all().unwrap().to_vec1().unwrap(), 1e-5, |_| 1.0);
    // Log-softmax at a target token per row (scoring), rows of an awkward
    // width with a large offset; an out-of-range target is clamped.
    let (rows, n) = (4, 1001);
    let x: Vec<f32> = random(rows * n, 8).iter().map(|v| v * 5.0 + 40.0).collect();
    let ls = candle_nn::ops::log_softmax(&Tensor::from_vec(x.clone(), (rows, n), &dev).unwrap(), 1).unwrap().to_vec2::<f32>().unwrap();
    let targets = [0u32, 500, 1000, 5000];
    let want: Vec<f32> = targets.iter().enumerate().map(|(r, &t)| ls[r][(t as usize).min(n - 1)]).collect();
    let (bx, bt, by) = (g.upload("x", &x).unwrap(), g.zeros("targets", rows).unwrap(), g.zeros("y", rows).unwrap());
    g.write_u32(&bt, &targets);
    run(&g, &[k.token_logp(&g, &bx, &bt, &by, rows, n)]).unwrap();
    close("token_logp", &g.download(&by, rows).unwrap(), &want, 1e-5, |i| 1.0 + want[i].abs() as f64);
    // Embedding rows (an out-of-range id is clamped, never read out of bounds).
    let (vocab, n) = (11, 13);
    let table = random(vocab * n, 9);
    let ids = [3u32, 0, 10, 99];
    // Odd row length: f16 rows start mid-word.
    for precision in [Precision::F32, Precision::F16] {
        let (bt, bi, by) = (g.upload_weight("t", &table, precision).unwrap(), g.zeros("ids", 4).unwrap(), g.zeros("y", 4 * n).unwrap());
        g.write_u32(&bi, &ids);
        run(&g, &[k.embed(&g, &bt, &bi, &by, 4, n, vocab)]).unwrap();
        let round = |v: f32| if precision == Precision::F16 { half::f16::from_f32(v).to_f32() } else { v };
        let want: Vec<f32> = ids.iter().flat_map(|&i| table[(i.min(10) as usize) * n..][..n].iter().map(|&v| round(v)).collect::<Vec<_>>()).collect();
        close(&format!("embed {precision:?}"), &g.download(&by, 4 * n).unwrap(), &want, 0.0, |_| 1.0);
    }
}

#[test]
fn rope_kv_cache_and_attention_match_the_cpu() {
    let Some((g, k)) = gpu() else { return };
    let dev = Device::Cpu;
    // Grouped heads: 6 query heads over 2 K/V heads, head size 10, 3 rows, 5 steps.
    let (rows, h, kvh, hd, max_len, steps) = (3, 6, 2, 10, 7, 5);
    let stride = (h + 2 * kvh) * hd;
    let half = hd / 2;
    let (cos, sin): (Vec<f32>, Vec<f32>) = (0..max_len * half).map(|i| {
        let a = (i / half) as f64 * 10000f64.powf(-2.0 * (i % half) as f64 / hd as f64);
        (a.cos() as f32, a.sin() as f32)
    }).unzip();
    let (bcos, bsin, info) = (g.upload("cos", &cos).unwrap(), g.upload("sin", &sin).unwrap(), g.zeros("info", 4 * rows).unwrap());
    let bqkv = g.zeros("qkv", rows * stride).unwrap();
    let (kc, vc, out) = (g.zeros("k", rows * kvh * max_len * hd).unwrap(), g.zeros("v", rows * kvh * max_len * hd).unwrap(), g.zeros("y", rows * h * hd).unwrap());
    let ops = [
        k.rope(&g, &bqkv, &bcos, &bsin, &info, rows, h + kvh, hd, stride),
        k.kv_store(&g, &bqkv, &kc, &vc, &info, rows, h, kvh, hd, max_len),
        k.attention(&g, &bqkv, &kc, &vc, &out, &info, rows, h, kvh, hd, max_len),
    ];
    let rope = |x: &Tensor, pos: usize| {
        let c = Tensor::from_vec(cos[pos * half..][..half].to_vec(), (1, half), &dev).unwrap();
        let s = Tensor::from_vec(sin[pos * half..][..half].to_vec(), (1, half), &dev).unwrap();
        candle_nn::rotary_emb::rope(x, &c, &s).unwrap()
    };
    let (mut keys, mut vals): (Vec<Tensor>, Vec<Tensor>) = (vec![], vec![]);
    for pos in 0..steps {
        let qkv = random(rows * stride, 10 + pos as u64);
        // Row r = slot r at `pos`, nothing shared.
        g.write_u32(&info, &(0..rows as u32).flat_map(|r| [r, pos as u32, 0, 0]).collect::<Vec<_>>());
        let bytes: Vec<u32> = qkv.iter().map(|v| v.to_bits()).collect();
        g.write_u32(&bqkv, &bytes);
        run(&g, &ops).unwrap();
        // CPU: [rows, heads, 1, hd] tensors through candle's rope, softmax(q k^T / sqrt(hd)) v.
        let t = Tensor::from_vec(qkv, (rows, h + 2 * kvh, 1, hd), &dev).unwrap();
        let q = rope(&t.narrow(1, 0, h).unwrap().contiguous().unwrap(), pos);
        keys.push(rope(&t.narrow(1, h, kvh).unwrap().contiguous().unwrap(), pos));
        vals.push(t.narrow(1, h + kvh, kvh).unwrap().contiguous().unwrap());
        let kk = Tensor::cat(&keys, 2).unwrap();
        let vv = Tensor::cat(&vals, 2).unwrap();
        let rep = |x: &Tensor| {
            let (b, n, s, e) = x.dims4().unwrap();
            x.unsqueeze(2).unwrap().expand((b, n, h / kvh, s, e)).unwrap().reshape((b, h, s, e)).unwrap()
        };
        let att = (q.matmul(&rep(&kk).t().unwrap()).unwrap() / (hd as f64).sqrt()).unwrap();
        let want = candle_nn::ops::softmax_last_dim(&att).unwrap().matmul(&rep(&vv)).unwrap();
        close(&format!("attention at position {pos}"), &g.download(&out, rows * h * hd).unwrap(), &want.flatten_all().unwrap().to_vec1().unwrap(), 1e-5, |_| 1.0);
        let rq = g.download(&bqkv, rows * stride).unwrap();
        let rq: Vec<f32> = (0..rows).flat_map(|r| rq[r * stride..][..h * hd].to_vec()).collect();
        close("rope", &rq, &q.flatten_all().unwrap().to_vec1().unwrap(), 1e-6, |_| 1.0);
    }
}

/// Decoding steps on the GPU vs `Llama::forward` with a KV cache on the CPU:
/// three rows with different tokens; returns the largest logit difference.
fn decode_matches(g: &Gpu, k: &Kernels, m: &sharpening_lab::model::Model, steps: usize) -> f64 {
    decode_matches_with(g, k, m, steps, Precision::F32)
}

/// [`decode_matches`] with the GPU's weights in `precision` (the CPU model
/// must carry the same values: f16-rounded weights for f16).
fn decode_matches_with(g: &Gpu, k: &Kernels, m: &sharpening_lab::model::Model, steps: usize, precision: Precision) -> f64 {
    let rows = 3;
    let gm = GpuModel::new(g, k, m.llama.config(), &m.tensors, precision).unwrap();
    let mut dec = GpuDecoder::new(&gm, rows, 64).unwrap();
    let mut cache = sharpening_lab::model::KvCache::new(m.llama.config().num_hidden_layers);
    let vocab = m.llama.config().vocab_size as u32;
    let mut worst = 0f64;
    for s in 0..steps {
        let ids: Vec<u32> = (0..rows as u32).map(|r| (7 + 13 * r + 5 * s as u32) % vocab).collect();
        let got = dec.step(&ids).unwrap();
        let t = Tensor::from_vec(ids.clone(), (rows, 1), &Device::Cpu).unwrap();
        let want: Vec<f32> = m.llama.forward(&t, Some(&mut cache)).unwrap().flatten_all().unwrap().to_vec1().unwrap();
        let scale = want.iter().fold(1f32, |a, b| a.max(b.abs())) as f64;
        worst = worst.max(close(&format!("logits at step {s}"), &got, &want, 1e-4, |_| scale));
    }
    worst
}

#[test]
fn whole_decoding_steps_match_the_cpu_on_the_built_in_models() {
    let Some((g, k)) = gpu() else { return };
    for task in ["add", "mul"] {
        let m = sharpening_lab::builtin::load(task).unwrap();
        let worst = decode_matches(&g, &k, &m, 8);
        eprintln!("{task}: largest logit difference {worst:.2e} of the largest |logit| ({})", g.info.name);
    }
}

/// f16 weights: the GPU's logits match a CPU model whose weights were rounded
/// to f16 the same way (same tolerance as f32); against the f32 model they
/// differ by the rounding (reported, and bounded loosely).
#[test]
fn f16_weights_match_a_cpu_model_with_f16_rounded_weights() {
    let Some((g, k)) = gpu() else { return };
    for task in ["add", "mul"] {
        let m = sharpening_lab::builtin::load(task).unwrap();
        let rounded: std::collections::HashMap<String, Tensor> = m
            .tensors
            .iter()
            .map(|(n, t)| (n.clone(), t.to_dtype(candle_core::DType::F16).unwrap().to_dtype(candle_core::DType::F32).unwrap()))
            .collect();
        let vb = candle_nn::VarBuilder::from_tensors(rounded.clone(), candle_core::DType::F32, &Device::Cpu);
        let llama = sharpening_lab::model::Llama::new(m.llama.config(), vb, false).unwrap();
        let mr = sharpening_lab::model::Model { llama, tensors: rounded, tok: m.tok, weights_sha256: String::new() };
        let worst = decode_matches_with(&g, &k, &mr, 8, Precision::F16);
        eprintln!("{task}, f16 weights: largest logit difference {worst:.2e} of the largest |logit| vs f16-rounded CPU weights");
    }
}

#[test]
fn smollm2_decoding_steps_match_the_cpu() {
    let Some((g, k)) = gpu() else { return };
    let Some(m) = common::smollm2_f32() else { return };
    let worst = decode_matches(&g, &k, &m, 3);
    eprintln!("SmolLM2: largest logit difference {worst:.2e} of the largest |logit| ({})", g.info.name);
}

#[test]
fn limits_are_errors_not_panics() {
    let Some((g, k)) = gpu() else { return };
    let m = sharpening_lab::builtin::load("add").unwrap();
    let gm = GpuModel::new(&g, &k, m.llama.config(), &m.tensors, Precision::F32).unwrap();
    let e = GpuDecoder::new(&gm, 2, 100_000).err();
    // The built-in model has few positions: the cache is clamped to them.
    assert!(e.is_none(), "{e:?}");
    let mut dec = GpuDecoder::new(&gm, 2, 2).unwrap();
    assert!(dec.step(&[1]).is_err(), "wrong row count");
    dec.step(&[1, 2]).unwrap();
    dec.step(&[1, 2]).unwrap();
    let e = dec.step(&[1, 2]).unwrap_err().to_string();
    assert!(e.contains("KV cache"), "{e}");
    let huge = g.zeros("huge", (g.info.max_buffer_bytes / 4 + 1) as usize).err().expect("over the limit").to_string();
    assert!(huge.contains("MB"), "{huge}");
    // Weight storage by the adapter's buffer limit: SmolLM2-135M's largest
    // matrix (the 49152 x 576 embedding) is 113 MB as f32, 57 MB as f16.
    let cfg = sharpening_lab::gpu::bench::synthetic_config("smollm2-135m").unwrap();
    let mut small = Gpu::new_blocking().unwrap();
    for (limit_mb, want) in [(256, Some(Precision::F32)), (100, Some(Precision::F16)), (50, None)] {
        small.info.max_buffer_bytes = limit_mb << 20;
        assert_eq!(GpuModel::precision_for(&small, &cfg), want, "{limit_mb} MB buffers");
    }
}

/// The same seed gives the same answers on either backend, except where
/// two tokens' probabilities are within the logits' tolerance of each other
/// (none in these runs; a difference would show as a mismatch here), and
/// the same log pi(y|x) within 1e-3 nats.
#[test]
fn gpu_sampling_agrees_with_the_cpu_for_the_same_seed() {
    use sharpening_lab::gpu::sample::GpuDecode;
    use sharpening_lab::decode::block_on;
    use sharpening_lab::sample::{sample_batch, sample_on, SampleSettings};
    let Some((g, k)) = gpu() else { return };
    for task in ["add", "mul"] {
        let m = sharpening_lab::builtin::load(task).unwrap();
        let t = sharpening_lab::tasks::by_name(task).unwrap();
        let gm = GpuModel::new(&g, &k, m.llama.config(), &m.tensors, Precision::F32).unwrap();
        let mut dec = GpuDecode::new(&gm);
        let settings = SampleSettings { max_new_tokens: t.max_answer_tokens() + 1, ..Default::default() };
        let (mut same, mut total) = (0, 0);
        for i in 0..6u64 {
            let ids = m.tok.encode_prompt(&t.problem(i as usize).prompt).unwrap();
            let streams = sharpening_lab::rng::Stream::samples(i, 16);
            let cpu = sample_batch(&m.llama, &ids, m.tok.eos, &settings, 3, &streams).unwrap();
            let gpu = block_on(sample_on(&mut dec, &ids, m.tok.eos, &settings, 3, &streams)).unwrap();
            for (a, b) in cpu.iter().zip(&gpu) {
                total += 1;
                if a.tokens == b.tokens && a.complete == b.complete {
                    same += 1;
                    assert!((a.logp - b.logp).abs() < 1e-3, "{task}: log pi {} vs {}", a.logp, b.logp);
                }
            }
        }
        eprintln!("{task}: {same} of {total} samples identical on GPU and CPU");
        assert_eq!(same, total, "{task}: a sample differs between backends");
    }
}

/// `sharpen bon --backend gpu` prints the same JSON as the CPU path (the
/// choice goes to stderr); `auto` keeps the CPU for a built-in model; a bad
/// value is an error.
#[test]
fn cli_backend_choice() {
    let Some((g, _)) = gpu() else { return };
    let run = |backend: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sharpen"))
            .args(["bon", "--n", "1,4", "--prompts", "5", "--seed", "2", "--json", "--backend", backend])
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
    };
    let (ok_g, json_g, err_g) = run("gpu");
    let (ok_c, json_c, err_c) = run("cpu");
    assert!(ok_g && ok_c, "{err_g} {err_c}");
    assert!(err_g.contains("backend: GPU"), "{err_g}");
    assert!(err_c.contains("backend: CPU (chosen)"), "{err_c}");
    assert_eq!(json_g, json_c, "the same best-of-N report on either backend");
    // auto: the CPU for a built-in model (the page's rule too).
    let (ok_a, json_a, err_a) = run("auto");
    assert!(ok_a && err_a.contains("too small") && json_a == json_c, "{err_a}");
    let _ = g;
    let (ok_bad, _, err_bad) = run("tpu");
    assert!(!ok_bad && err_bad.contains("choose cpu, gpu or auto"), "{err_bad}");
    // f16 weights: said on stderr and in the JSON parameters; a bad value is an error.
    let half = |w: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sharpen"))
            .args(["bon", "--n", "1,4", "--prompts", "3", "--seed", "2", "--json", "--backend", "gpu", "--gpu-weights", w])
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
    };
    let (ok_h, json_h, err_h) = half("f16");
    assert!(ok_h && err_h.contains("f16 weights"), "{err_h}");
    assert!(json_h.contains(r#""gpu_weights":"f16""#), "{json_h}");
    let (ok_b, _, err_b) = half("f8");
    assert!(!ok_b && err_b.contains("choose f32 or f16"), "{err_b}");
}

/// `sharpen explore --backend gpu`: the explorer's one loop on the GPU path
/// draws the same answers as the CPU (same streams) with the same picks, and
/// every log-probability within 1e-4 nats.
#[test]
fn cli_explore_on_the_gpu_matches_the_cpu() {
    let Some(_) = gpu() else { return };
    let run = |backend: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sharpen"))
            .args(["explore", "--prompt", "39+25=", "--n", "16", "--seed", "5", "--json", "--backend", backend])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        (serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
    };
    let ((g, err), (c, _)) = (run("gpu"), run("cpu"));
    assert!(err.contains("backend: GPU"), "{err}");
    let texts = |v: &serde_json::Value| v["samples"].as_array().unwrap().iter().map(|s| s["text"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(texts(&g), texts(&c));
    assert_eq!(g["picks"], c["picks"]);
    let mut worst = 0f64;
    for (a, b) in g["samples"].as_array().unwrap().iter().zip(c["samples"].as_array().unwrap()) {
        for k in ["logp_base", "verify"] {
            if let (Some(x), Some(y)) = (a[k].as_f64(), b[k].as_f64()) {
                worst = worst.max((x - y).abs());
            }
        }
    }
    for (a, b) in g["token_logps"].as_array().unwrap().iter().flat_map(|r| r.as_array().unwrap()).zip(c["token_logps"].as_array().unwrap().iter().flat_map(|r| r.as_array().unwrap())) {
        worst = worst.max((a["logp"].as_f64().unwrap() - b["logp"].as_f64().unwrap()).abs());
    }
    eprintln!("explore on the GPU vs the CPU: largest log-probability difference {worst:.2e} nats");
    assert!(worst < 1e-4, "{worst}");
}
