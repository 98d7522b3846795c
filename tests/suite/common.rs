//! Shared test helpers: a random tiny model built from seeded weights.
#![allow(dead_code)]

use std::collections::HashMap;

use candle_core::{Device, Tensor};
use sharpening_lab::model::bundle::to_safetensors;
use sharpening_lab::model::{Config, Model, Tok};
use sharpening_lab::rng::{Rng, Stream};

pub const ALPHABET: &str = "0123456789+";

pub fn tiny_config(vocab: usize) -> Config {
    Config {
        vocab_size: vocab,
        hidden_size: 16,
        intermediate_size: 24,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        num_key_value_heads: Some(2),
        rms_norm_eps: 1e-5,
        rope_theta: 10_000.0,
        max_position_embeddings: 32,
        tie_word_embeddings: false,
    }
}

pub fn weight_shapes(c: &Config) -> Vec<(String, Vec<usize>)> {
    use sharpening_lab::model::names::{self, Projection};
    let (d, v) = (c.hidden_size, c.vocab_size);
    let mut s = vec![(names::EMBED.to_string(), vec![v, d]), (names::FINAL_NORM.to_string(), vec![d]), (names::LM_HEAD.to_string(), vec![v, d])];
    for l in 0..c.num_hidden_layers {
        s.push((names::norm(l, names::ATTN_NORM), vec![d]));
        s.push((names::norm(l, names::MLP_NORM), vec![d]));
        for p in Projection::ALL {
            let (o, i) = p.shape(c);
            s.push((names::projection(l, p), vec![o, i]));
        }
    }
    s
}

/// Random weights (std `scale`; norms around 1) as flat vectors by name.
pub fn random_weights(c: &Config, seed: u64, scale: f64) -> HashMap<String, (Vec<usize>, Vec<f32>)> {
    weight_shapes(c)
        .into_iter()
        .enumerate()
        .map(|(k, (name, shape))| {
            let n: usize = shape.iter().product();
            let mut rng = Rng::new(seed, Stream::Fixture { a: k as u64, b: 7 }).unwrap();
            let v = if name.ends_with("norm.weight") {
                (0..n).map(|_| (1.0 + 0.1 * rng.normal()) as f32).collect()
            } else {
                (0..n).map(|_| (scale * rng.normal()) as f32).collect()
            };
            (name, (shape, v))
        })
        .collect()
}

pub fn safetensors_bytes(w: &HashMap<String, (Vec<usize>, Vec<f32>)>) -> Vec<u8> {
    let named: Vec<(String, Tensor)> = w
        .iter()
        .map(|(n, (s, v))| (n.clone(), Tensor::from_vec(v.clone(), s.as_slice(), &Device::Cpu).unwrap()))
        .collect();
    to_safetensors(&named).unwrap()
}

pub struct Tiny {
    pub model: Model,
    pub cfg: Config,
    pub weights: HashMap<String, (Vec<usize>, Vec<f32>)>,
    pub config_json: String,
    pub weight_bytes: Vec<u8>,
    pub tokenizer_json: String,
}

/// A random tiny model over `ALPHABET`; `scale` sets how peaked its
/// distributions are.
pub fn tiny(seed: u64, scale: f64) -> Tiny {
    let tok = Tok::char_level(ALPHABET).unwrap();
    tiny_with(tiny_config(tok.vocab_size()), seed, scale)
}

/// [`tiny`] with another config (same tokenizer).
pub fn tiny_with(cfg: Config, seed: u64, scale: f64) -> Tiny {
    let tok = Tok::char_level(ALPHABET).unwrap();
    let weights = random_weights(&cfg, seed, scale);
    let weight_bytes = safetensors_bytes(&weights);
    let config_json = cfg.to_json();
    let tokenizer_json = tok.to_json().unwrap();
    let model = Model::from_bytes(config_json.as_bytes(), &weight_bytes, tokenizer_json.as_bytes()).unwrap();
    Tiny { model, cfg, weights, config_json, weight_bytes, tokenizer_json }
}

/// Says the running test is SKIPPED and why: on stderr, and as a line in the
/// file `$SHARPEN_SKIP_LOG` when set (scripts/test.sh counts those lines in
/// its summary; CI fails when any test was skipped).
pub fn skip(reason: &str) {
    let test = std::thread::current().name().unwrap_or("a test").to_string();
    eprintln!("SKIPPED: {reason}");
    if let Ok(path) = std::env::var("SHARPEN_SKIP_LOG") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
            let _ = writeln!(f, "{} {test}: {reason}", env!("CARGO_CRATE_NAME"));
        }
    }
}

/// The GPU path's adapter and kernels: None (the test says SKIPPED) without
/// an adapter, a failure when SHARPEN_REQUIRE_GPU=1 (scripts/test.sh).
pub fn gpu() -> Option<(sharpening_lab::gpu::Gpu, sharpening_lab::gpu::kernels::Kernels)> {
    match sharpening_lab::gpu::Gpu::new_blocking().and_then(|g| sharpening_lab::gpu::kernels::Kernels::new(&g).map(|k| (g, k))) {
        Ok(x) => Some(x),
        Err(e) if std::env::var("SHARPEN_REQUIRE_GPU").is_ok_and(|v| v == "1") => panic!("SHARPEN_REQUIRE_GPU=1 but {e}"),
        Err(e) => {
            skip(&format!("{e} (install mesa-vulkan-drivers for a software adapter)"));
            None
        }
    }
}

/// Asserts |a - b| <= tol * scale elementwise, naming the worst element.
pub fn close(what: &str, got: &[f32], want: &[f32], tol: f64, scale: impl Fn(usize) -> f64) -> f64 {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let mut worst = (0.0f64, 0usize);
    for i in 0..got.len() {
        let err = (got[i] as f64 - want[i] as f64).abs() / scale(i);
        assert!(err.is_finite(), "{what}[{i}]: {} vs {}", got[i], want[i]);
        if err > worst.0 {
            worst = (err, i);
        }
    }
    assert!(worst.0 <= tol, "{what}: element {} is {} vs {} (scaled error {:.2e} > {tol:.0e})", worst.1, got[worst.1], want[worst.1], worst.0);
    worst.0
}


/// SmolLM2-135M-Instruct's GGUF file (SMOLLM2_GGUF, else target/models/,
/// where scripts/test.sh fetches it); None, saying SKIPPED, when missing.
pub fn smollm2_path() -> Option<String> {
    let p = std::env::var("SMOLLM2_GGUF").unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/target/models/SmolLM2-135M-Instruct.Q4_1.gguf").into());
    if std::path::Path::new(&p).exists() {
        Some(p)
    } else {
        skip(&format!("{p} not found (scripts/test.sh fetches it)"));
        None
    }
}

/// SmolLM2 loaded with f32 weights (the CPU's quantised kernels would differ
/// from the GPU path by design); None when the file is missing.
pub fn smollm2_f32() -> Option<Model> {
    let bytes = std::fs::read(smollm2_path()?).unwrap();
    Some(sharpening_lab::model::gguf::load_gguf(&bytes, sharpening_lab::model::gguf::Weights::F32).unwrap())
}

/// Whether python3 has the `modules` the NumPy reference needs (else SKIPPED).
pub fn python_reference_available(modules: &[&str]) -> bool {
    let ok = std::process::Command::new("python3").args(["-c", &format!("import {}", modules.join(", "))]).output().is_ok_and(|o| o.status.success());
    if !ok {
        skip(&format!("the NumPy reference needs python3 with {} (pip install {})", modules.join(", "), modules.join(" ")));
    }
    ok
}

/// `log p(ids[t] | ids[:t])` for `t = start..` from the independent NumPy
/// forward pass (`tests/reference/gguf_numpy.py`), with a PEFT adapter
/// folder merged into its weights when given.
pub fn reference_logps(gguf: &str, adapter: Option<&str>, ids: &[u32], start: usize) -> Vec<f64> {
    use std::io::Write;
    let mut args = vec![concat!(env!("CARGO_MANIFEST_DIR"), "/tests/reference/gguf_numpy.py"), gguf];
    args.extend(adapter);
    let mut child = std::process::Command::new("python3")
        .args(&args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run the NumPy reference");
    let req = serde_json::json!({"ids": ids, "start": start}).to_string();
    child.stdin.take().unwrap().write_all(req.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "reference failed: {}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["logps"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}
