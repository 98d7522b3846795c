//! The 8-bit decoding path on a small random model (hidden size 64), so it is
//! tested without SmolLM2: every projection and the head get 8-bit copies;
//! decoding then runs `q8_forward`, close to the f32 path, with a row's
//! numbers independent of its batch; sampled answers are rescored in f32, so
//! their log-probabilities are the f32 model's (`pi_base`).

use crate::common;

use candle_core::Tensor;
use sharpening_lab::model::names::{self, Projection};
use sharpening_lab::model::{Config, KvCache, Model};
use sharpening_lab::rng::Stream;
use sharpening_lab::sample::{sample_batch, SampleSettings};
use sharpening_lab::score::{token_logps, Scored};

fn q8_model(seed: u64) -> Model {
    let vocab = sharpening_lab::model::Tok::char_level(common::ALPHABET).unwrap().vocab_size();
    let cfg = Config { hidden_size: 64, intermediate_size: 128, max_position_embeddings: 48, ..common::tiny_config(vocab) };
    let mut m = common::tiny_with(cfg.clone(), seed, 0.15).model;
    let mut all: std::collections::HashSet<String> = (0..cfg.num_hidden_layers).flat_map(|l| Projection::ALL.map(|p| names::projection(l, p))).collect();
    all.insert(names::LM_HEAD.into());
    m.llama.use_q8(&all).unwrap();
    m
}

fn rows(t: &Tensor) -> Vec<Vec<f32>> {
    let (b, s, v) = t.dims3().unwrap();
    let flat = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    (0..b * s).map(|r| flat[r * v..(r + 1) * v].to_vec()).collect()
}

#[test]
fn small_model_decodes_on_8_bits_close_to_f32() {
    let m = q8_model(3);
    assert!(m.llama.decodes_on_q8());
    assert_eq!(m.llama.weights_kind(), "q8 (decoding) x 15");
    let dev = m.llama.device();
    let ids: Vec<u32> = m.tok.encode_prompt("12+34").unwrap();
    // Prefill on the 8-bit path and on the f32 path.
    let mut cache = KvCache::new(m.llama.config().num_hidden_layers);
    let t = Tensor::new(ids.as_slice(), dev).unwrap().unsqueeze(0).unwrap();
    let q8 = rows(&m.llama.forward_q8(&t, &mut cache).unwrap());
    let f32 = rows(&m.llama.forward(&t, None).unwrap());
    let (mut worst, mut scale) = (0f32, 0f32);
    for (a, b) in q8.iter().zip(&f32) {
        for (x, y) in a.iter().zip(b) {
            worst = worst.max((x - y).abs());
            scale = scale.max(y.abs());
        }
    }
    eprintln!("8-bit vs f32 logits: largest difference {worst:.4} (largest logit {scale:.2})");
    assert!(worst > 0.0, "the 8-bit path must be the one that ran");
    // Measured 0.13 of a largest logit 3.2 (4%): weights and activations
    // rounded to 8 bits per block of 32, over two blocks per row here; a
    // wrong layout or rotary table costs the whole scale.
    assert!(worst < 0.1 * scale, "8-bit logits {worst} away from f32 (scale {scale})");
}

#[test]
fn small_model_rows_do_not_depend_on_the_batch() {
    let m = q8_model(4);
    let dev = m.llama.device();
    let p = m.tok.encode_prompt("7+").unwrap();
    let mut cache = KvCache::new(m.llama.config().num_hidden_layers);
    m.llama.forward_q8(&Tensor::new(p.as_slice(), dev).unwrap().unsqueeze(0).unwrap(), &mut cache).unwrap();
    let next: Vec<u32> = (0..16).map(|i| (i % 11) as u32 + 3).collect();
    let mut batch = cache.fan_out(16).unwrap();
    let all = rows(&m.llama.forward_q8(&Tensor::from_vec(next.clone(), (16, 1), dev).unwrap(), &mut batch).unwrap());
    for row in [0usize, 7, 15] {
        let mut one = cache.fan_out(1).unwrap();
        let alone = rows(&m.llama.forward_q8(&Tensor::from_vec(vec![next[row]], (1, 1), dev).unwrap(), &mut one).unwrap());
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&alone[0]), bits(&all[row]), "row {row}: batch of 16 (lane kernel) vs alone (few-rows kernel)");
    }
}

#[test]
fn small_model_samples_carry_f32_log_probabilities() {
    let m = q8_model(5);
    let p = m.tok.encode_prompt("3+4").unwrap();
    let s = SampleSettings { max_new_tokens: 5, ..Default::default() };
    let samples = sample_batch(&m.llama, &p, m.tok.eos, &s, 2, &Stream::samples(0, 64)).unwrap();
    let mut checked = 0;
    for x in samples.iter().filter(|x| x.complete) {
        let c: Vec<u32> = x.tokens.iter().copied().chain([m.tok.eos]).collect();
        // Scored alone here; the sampler scored the whole batch at once.
        let want: f64 = token_logps(&m.llama, &[Scored { prompt: &p, continuation: &c }]).unwrap()[0].iter().sum();
        assert!((x.logp - want).abs() < 1e-4, "sample log pi {} vs f32 {want}", x.logp);
        assert_eq!(x.token_logps.as_ref().map(|t| t.len()), Some(c.len()));
        checked += 1;
    }
    assert!(checked >= 3, "{checked} complete samples");
}
