//! Bad input never panics: corrupt, truncated or mismatched model files,
//! wrong tokenizers, bad prompts, and NaN during training all give errors.

use crate::common;

use sharpening_lab::model::Model;
use sharpening_lab::rng::{Rng, Stream};
use sharpening_lab::sharpen::train_step::{nll_loss, step, Example};
use sharpening_lab::tasks::by_name;

/// Loads and returns the error message (or None on success).
fn load(c: &[u8], w: &[u8], t: &[u8]) -> Result<(), String> {
    std::panic::catch_unwind(|| Model::from_bytes(c, w, t).map(|_| ()).map_err(|e| e.to_string()))
        .unwrap_or_else(|_| panic!("the loader panicked"))
}

#[test]
fn fuzzed_model_files_give_errors_not_panics() {
    let t = common::tiny(1, 0.5);
    let files = [t.config_json.as_bytes().to_vec(), t.weight_bytes.clone(), t.tokenizer_json.as_bytes().to_vec()];
    let mut rng = Rng::new(99, Stream::Fixture { a: 0, b: 0 }).unwrap();
    let mut errors = 0;
    for round in 0..600 {
        let mut f = files.clone();
        let which = round % 3;
        let buf = &mut f[which];
        match rng.below(4) {
            0 => buf.truncate(rng.below(buf.len() as u64) as usize),
            1 => {
                for _ in 0..1 + rng.below(8) {
                    let i = rng.below(buf.len() as u64) as usize;
                    buf[i] = rng.below(256) as u8;
                }
            }
            2 => {
                // corrupt the safetensors header length / JSON start
                let n = buf.len().min(16);
                for b in &mut buf[..n] {
                    *b = rng.below(256) as u8;
                }
            }
            _ => buf.extend((0..rng.below(64)).map(|_| rng.below(256) as u8)),
        }
        if load(&f[0], &f[1], &f[2]).is_err() {
            errors += 1;
        }
    }
    assert!(errors > 200, "most corruptions must be detected, got {errors} errors");
}

#[test]
fn mismatched_files_are_named() {
    let t = common::tiny(1, 0.5);
    let big = sharpening_lab::model::Tok::char_level("0123456789+-*/=?abcdefghijklmnopqrstuvwxyz").unwrap();
    let e = load(t.config_json.as_bytes(), &t.weight_bytes, big.to_json().unwrap().as_bytes()).unwrap_err();
    assert!(e.contains("wrong tokenizer"), "{e}");
    let bad_cfg = t.config_json.replace("\"hidden_size\": 16", "\"hidden_size\": 32");
    let e = load(bad_cfg.as_bytes(), &t.weight_bytes, t.tokenizer_json.as_bytes()).unwrap_err();
    assert!(e.contains("weights"), "{e}");
    let e = load(b"{\"vocab_size\": 0}", &t.weight_bytes, t.tokenizer_json.as_bytes()).unwrap_err();
    assert!(e.contains("config"), "{e}");
    let huge = t.config_json.replace("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 100000");
    let e = load(huge.as_bytes(), &t.weight_bytes, t.tokenizer_json.as_bytes()).unwrap_err();
    assert!(e.contains("num_hidden_layers"), "{e}");
    let e = load(t.config_json.as_bytes(), &t.weight_bytes, b"{}").unwrap_err();
    assert!(e.contains("tokenizer"), "{e}");
}

#[test]
fn bad_prompts_and_text_are_errors() {
    let task = by_name("add").unwrap();
    for p in ["", "12+34", "1+2=", "12+345=", "a+b=", "12-34=", "12+34+5=", "99999999999999999999+1="] {
        assert!(task.parse(p).is_err(), "{p:?} accepted");
    }
    assert_eq!(task.parse(" 12+34=").unwrap().answer, "46");
    assert!(by_name("nope").is_err());
    let t = common::tiny(1, 0.5);
    let e = t.model.tok.encode("12x").unwrap_err().to_string();
    assert!(e.contains("cannot be represented"), "{e}");
}

#[test]
fn nan_in_training_stops_with_a_clear_error() {
    let t = common::tiny(2, 0.5);
    let tr = t.model.trainable_copy().unwrap();
    let vars = tr.sorted_vars();
    // Poison one weight: the loss becomes NaN.
    let v = &vars[0];
    let poisoned = (v.as_tensor() * f64::NAN).unwrap();
    v.set(&poisoned).unwrap();
    let mut opt = candle_nn::AdamW::new_lr(vars.clone(), 1e-3).unwrap();
    let ex = vec![Example { prompt: vec![1, 4, 5], target: vec![6, 2] }];
    let loss = nll_loss(&tr.train, &ex).unwrap();
    let e = step(&mut opt, &vars, &loss, 1.0).unwrap_err();
    assert!(matches!(e, sharpening_lab::Error::NonFinite(_)), "{e}");
    assert!(e.to_string().contains("learning rate"), "{e}");
}

/// A learning rate that wrecks the model stops the run with a clear message
/// (a NaN loss, or no probability left on complete answers), never garbage.
#[test]
fn diverging_training_stops_with_a_message() {
    use sharpening_lab::sharpen::{run_rlhf, run_sft, RlhfParams, SftParams};
    let model = sharpening_lab::builtin::load("add").unwrap();
    let task = sharpening_lab::tasks::by_name("add").unwrap();
    let p = SftParams { prompts: 8, n: 4, steps: 30, lr: 1.0, eval_every: 10, ..Default::default() };
    let e = run_sft(&model, task.as_ref(), &p, &mut |_, _| true).unwrap_err().to_string();
    assert!(e.starts_with("training stopped: at step"), "{e}");
    let p = RlhfParams { prompts: 8, pairs: 8, steps: 30, lr: 1.0, beta: 0.01, eval_every: 10, ..Default::default() };
    let e = run_rlhf(&model, task.as_ref(), &p, &mut |_, _| true).unwrap_err().to_string();
    assert!(e.starts_with("training stopped: at step"), "{e}");
}
