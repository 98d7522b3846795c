//! The forward pass against an independent reference written here with plain
//! loops (no candle), and KV-cache decoding against the full forward.

use crate::common;

use candle_core::Tensor;
use common::tiny;
use sharpening_lab::model::{Config, KvCache};

type W = std::collections::HashMap<String, (Vec<usize>, Vec<f32>)>;

fn mat<'a>(w: &'a W, name: &str) -> &'a [f32] {
    &w[name].1
}

/// `y = W x` with `W` stored `[out, in]` row-major.
fn matvec(w: &[f32], x: &[f64], out: usize) -> Vec<f64> {
    let inn = x.len();
    (0..out).map(|o| (0..inn).map(|i| w[o * inn + i] as f64 * x[i]).sum()).collect()
}

fn rms(x: &[f64], w: &[f32], eps: f64) -> Vec<f64> {
    let ms = x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64;
    let r = 1.0 / (ms + eps).sqrt();
    x.iter().zip(w).map(|(v, g)| v * r * *g as f64).collect()
}

/// Rotary embedding of one head vector at position `p` (halves rotated).
fn rope(x: &mut [f64], p: usize, theta: f64) {
    let hd = x.len();
    let half = hd / 2;
    for i in 0..half {
        let a = p as f64 * theta.powf(-2.0 * i as f64 / hd as f64);
        let (c, s) = (a.cos(), a.sin());
        let (x1, x2) = (x[i], x[i + half]);
        x[i] = x1 * c - x2 * s;
        x[i + half] = x2 * c + x1 * s;
    }
}

/// Logits at every position of one sequence, straight from the definition.
fn reference(cfg: &Config, w: &W, ids: &[u32]) -> Vec<Vec<f64>> {
    let (d, hd, h, kvh) = (cfg.hidden_size, cfg.head_dim(), cfg.num_attention_heads, cfg.kv_heads());
    let t = ids.len();
    let emb = mat(w, "model.embed_tokens.weight");
    let mut xs: Vec<Vec<f64>> = ids.iter().map(|&i| emb[i as usize * d..(i as usize + 1) * d].iter().map(|&v| v as f64).collect()).collect();
    for l in 0..cfg.num_hidden_layers {
        let p = |s: &str| format!("model.layers.{l}.{s}");
        let hs: Vec<Vec<f64>> = xs.iter().map(|x| rms(x, mat(w, &p("input_layernorm.weight")), cfg.rms_norm_eps)).collect();
        let q: Vec<Vec<f64>> = hs.iter().map(|x| matvec(mat(w, &p("self_attn.q_proj.weight")), x, d)).collect();
        let k: Vec<Vec<f64>> = hs.iter().map(|x| matvec(mat(w, &p("self_attn.k_proj.weight")), x, kvh * hd)).collect();
        let v: Vec<Vec<f64>> = hs.iter().map(|x| matvec(mat(w, &p("self_attn.v_proj.weight")), x, kvh * hd)).collect();
        let mut att_out = vec![vec![0.0; d]; t];
        for head in 0..h {
            let kv = head / (h / kvh);
            for i in 0..t {
                let mut qi = q[i][head * hd..(head + 1) * hd].to_vec();
                rope(&mut qi, i, cfg.rope_theta);
                let mut scores = Vec::new();
                for j in 0..=i {
                    let mut kj = k[j][kv * hd..(kv + 1) * hd].to_vec();
                    rope(&mut kj, j, cfg.rope_theta);
                    scores.push(qi.iter().zip(&kj).map(|(a, b)| a * b).sum::<f64>() / (hd as f64).sqrt());
                }
                let m = scores.iter().cloned().fold(f64::MIN, f64::max);
                let z: f64 = scores.iter().map(|s| (s - m).exp()).sum();
                for j in 0..=i {
                    let a = (scores[j] - m).exp() / z;
                    for e in 0..hd {
                        att_out[i][head * hd + e] += a * v[j][kv * hd + e];
                    }
                }
            }
        }
        for i in 0..t {
            let o = matvec(mat(w, &p("self_attn.o_proj.weight")), &att_out[i], d);
            for e in 0..d {
                xs[i][e] += o[e];
            }
            let hm = rms(&xs[i], mat(w, &p("post_attention_layernorm.weight")), cfg.rms_norm_eps);
            let f = cfg.intermediate_size;
            let g = matvec(mat(w, &p("mlp.gate_proj.weight")), &hm, f);
            let u = matvec(mat(w, &p("mlp.up_proj.weight")), &hm, f);
            let act: Vec<f64> = g.iter().zip(&u).map(|(g, u)| g / (1.0 + (-g).exp()) * u).collect();
            let dn = matvec(mat(w, &p("mlp.down_proj.weight")), &act, d);
            for e in 0..d {
                xs[i][e] += dn[e];
            }
        }
    }
    xs.iter()
        .map(|x| matvec(mat(w, "lm_head.weight"), &rms(x, mat(w, "model.norm.weight"), cfg.rms_norm_eps), cfg.vocab_size))
        .collect()
}

#[test]
fn forward_matches_plain_loop_reference() {
    let t = tiny(11, 0.3);
    let seqs: [&[u32]; 2] = [&[1, 5, 9, 3, 12, 7, 4], &[1, 13, 2, 8, 8, 6, 10]];
    let flat: Vec<u32> = seqs.concat();
    let ids = Tensor::from_vec(flat, (2, 7), &candle_core::Device::Cpu).unwrap();
    let got = t.model.llama.forward(&ids, None).unwrap().to_vec3::<f32>().unwrap();
    let mut worst = 0f64;
    for (b, seq) in seqs.iter().enumerate() {
        let want = reference(&t.cfg, &t.weights, seq);
        for (pos, row) in want.iter().enumerate() {
            for (v, w) in row.iter().enumerate() {
                worst = worst.max((got[b][pos][v] as f64 - w).abs());
            }
        }
    }
    assert!(worst < 1e-4, "largest logit difference {worst}");
}

#[test]
fn trainable_forward_equals_inference_forward() {
    let t = tiny(12, 0.3);
    let tr = t.model.trainable_copy().unwrap();
    let ids = Tensor::new(&[[1u32, 4, 6, 2, 9, 11]], &candle_core::Device::Cpu).unwrap();
    let a = t.model.llama.forward(&ids, None).unwrap();
    let b = tr.train.forward(&ids, None).unwrap();
    let diff = (a - b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap();
    assert!(diff < 1e-5, "composed-op and fused-op forwards differ by {diff}");
}

#[test]
fn kv_cache_decoding_equals_full_forward() {
    let t = tiny(13, 0.3);
    let llama = &t.model.llama;
    let dev = candle_core::Device::Cpu;
    let seq = [1u32, 3, 5, 7, 2, 12, 9, 4, 6];
    let full = llama.forward(&Tensor::new(&seq[..], &dev).unwrap().unsqueeze(0).unwrap(), None).unwrap().to_vec3::<f32>().unwrap();
    // prefill 4 tokens, then one at a time, fanned out to 3 identical rows
    let mut cache = KvCache::new(t.cfg.num_hidden_layers);
    let pre = llama.forward(&Tensor::new(&seq[..4], &dev).unwrap().unsqueeze(0).unwrap(), Some(&mut cache)).unwrap().to_vec3::<f32>().unwrap();
    let mut cache = cache.fan_out(3).unwrap();
    let mut worst = 0f32;
    for p in 0..4 {
        for v in 0..t.cfg.vocab_size {
            worst = worst.max((pre[0][p][v] - full[0][p][v]).abs());
        }
    }
    for (p, &tok) in seq.iter().enumerate().skip(4) {
        let ids = Tensor::new(&[[tok], [tok], [tok]], &dev).unwrap();
        let step = llama.forward(&ids, Some(&mut cache)).unwrap().to_vec3::<f32>().unwrap();
        for row in &step {
            for v in 0..t.cfg.vocab_size {
                worst = worst.max((row[0][v] - full[0][p][v]).abs());
            }
        }
    }
    assert_eq!(cache.len(), seq.len());
    assert!(worst < 1e-5, "cached decoding differs from the full forward by {worst}");
}

#[test]
fn forward_rejects_sequences_longer_than_the_model() {
    let t = tiny(14, 0.3);
    let ids = Tensor::zeros((1, 40), candle_core::DType::U32, &candle_core::Device::Cpu).unwrap();
    let err = t.model.llama.forward(&ids, None).err().expect("too long must fail");
    assert!(err.to_string().contains("exceeds"), "{err}");
}
