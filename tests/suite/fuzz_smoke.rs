//! The fuzz targets' bodies (`sharpening_lab::fuzzing`) run natively on
//! their seeds (the real files the campaign starts from, `scripts/fuzz.sh`)
//! cut and flipped at a few hundred places, and on every input a campaign
//! found a fault with (`fuzz/regressions/<target>/`, kept as regression
//! tests). Each must return; none may panic. The campaign itself (libFuzzer,
//! millions of inputs) is `scripts/fuzz.sh`; CI runs it for seconds.

use crate::common;

use std::path::Path;

use sharpening_lab::fuzzing::TARGETS;

const SEP: [u8; 3] = [0xFF, 0x00, 0xFF];

fn join(files: &[&[u8]]) -> Vec<u8> {
    files.iter().enumerate().flat_map(|(i, f)| if i == 0 { f.to_vec() } else { [&SEP[..], f].concat() }).collect()
}

/// The seeds of target `name` (as `scripts/fuzz.sh` writes them).
fn seeds(name: &str) -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |p: &str| std::fs::read(root.join(p)).unwrap();
    let add = sharpening_lab::builtin::files("add").unwrap();
    match name {
        "gguf" => {
            // A whole tiny model (scripts/tiny_models.py) and SmolLM2's header with its tokenizer.
            let mut s = vec![read("fuzz/seeds/gguf/tiny.gguf")];
            s.extend(common::smollm2_path().map(|p| std::fs::read(p).unwrap()[..4 << 20].to_vec()));
            s
        }
        "hf_files" => vec![read("fuzz/seeds/hf_files/tiny"), join(&[add.config, add.weights, add.tokenizer, br#"{"bos_token": "<s>", "eos_token": "</s>"}"#])],
        "tokenizer" => vec![add.tokenizer.to_vec(), join(&[add.tokenizer, br#"{"chat_template": "{{ messages[0]['content'] }}"}"#])],
        "chat_template" => vec![
            b"{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}".to_vec(),
            b"{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}[INST] {{ m['content'].strip() }} [/INST]{% endif %}{% endfor %}".to_vec(),
        ],
        "prompts" => vec![read("www/prompts/arithmetic.jsonl"), join(&[&read("www/prompts/capitals.jsonl"), &read("www/prompts/counting.jsonl")])],
        "url_hash" => vec![b"#view=bon&task=add&n=1,4,16&prompts=24&seed=3".to_vec(), b"#lesson=4&embed=1&samples_hide=1".to_vec(), b"#task=arithmetic&model=https%3A%2F%2Fx%2Fm.gguf&eval_share=0.5".to_vec()],
        other => panic!("no seeds for {other}"),
    }
}

/// `seed` cut at `k` places and with `k` single bytes changed (a cheap,
/// deterministic stand-in for the fuzzer's mutations).
fn mutations(seed: &[u8], k: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for i in 0..k {
        let at = (seed.len() * i) / k;
        out.push(seed[..at].to_vec());
        let mut m = seed.to_vec();
        if !m.is_empty() {
            let j = (at.wrapping_mul(2654435761) >> 3) % m.len();
            m[j] = m[j].wrapping_add(1 + (i as u8 % 254));
        }
        out.push(m);
    }
    out
}

/// The tiny seeds are models that load (scripts/tiny_models.py), so
/// mutations of them reach every part of the loaders.
#[test]
fn the_tiny_seeds_are_whole_models() {
    let bytes = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/gguf/tiny.gguf")).unwrap();
    let m = sharpening_lab::model::gguf::load_gguf(&bytes, sharpening_lab::model::gguf::Weights::Quantized).unwrap();
    assert!(m.tok.vocab_size() > 256 && m.tok.encode_prompt("What is the").unwrap().len() > 4);
    // So is the Hugging Face one (config.json, model.safetensors, tokenizer.json joined).
    let hf = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/hf_files/tiny")).unwrap();
    let cut: Vec<usize> = hf.windows(3).enumerate().filter(|(_, w)| *w == SEP).map(|(i, _)| i).collect();
    assert_eq!(cut.len(), 2, "three files");
    let (c, w, t) = (&hf[..cut[0]], &hf[cut[0] + 3..cut[1]], &hf[cut[1] + 3..]);
    sharpening_lab::model::Model::from_hf_files(c, w, t, None).unwrap();
}

#[test]
fn every_target_survives_its_seeds_mutated_and_every_regression() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    for (name, body) in TARGETS {
        let seeds = seeds(name);
        // A big seed (the GGUF header with SmolLM2's tokenizer) takes longer per input.
        let k = if seeds.iter().any(|s| s.len() > 1 << 20) { 24 } else { 150 };
        let mut n = 0;
        for s in &seeds {
            body(s);
            for m in mutations(s, k) {
                body(&m);
                n += 1;
            }
        }
        let dir = root.join(name);
        let regressions: Vec<_> = std::fs::read_dir(&dir).map(|d| d.map(|e| e.unwrap().path()).collect()).unwrap_or_default();
        for r in &regressions {
            body(&std::fs::read(r).unwrap());
        }
        eprintln!("{name}: {} seeds, {n} mutations, {} regressions", seeds.len(), regressions.len());
    }
}
