//! The trainer of the built-in models: a seeded, from-scratch training run on
//! the noisy arithmetic corpus of [`crate::tasks::arithmetic`], producing the
//! three files a model is loaded from plus a training card.
//!
//! Corpus recipe (each example drawn fresh from stream `(seed, Corpus, step)`;
//! prompts uniform, except marked ones drawn [`MARKED_WEIGHT`] times as often):
//! * with probability `1 - verify_share`, an answer example `x -> y`, `y` drawn
//!   from [`Arithmetic::corpus_answers`] (40% right, the rest plausible mistakes;
//!   on marked prompts the dominant mistake 60%, the right answer 15%);
//! * otherwise a verification example `"x y?" -> Y|N`: the candidate `y` is the
//!   right answer (30%), the believed answer (20%), a corpus mistake (30%) or a
//!   random number (20%), labelled `Y` when it is the corpus's most likely
//!   answer, the label flipped with probability `verify_noise`.

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarBuilder, VarMap};
use serde::Serialize;

use crate::error::{param_err, Result};
use crate::model::bundle::{named_tensors, sorted_vars, to_safetensors};
use crate::model::{Config, Llama, Tok};
use crate::rng::{Rng, Stream};
use crate::sharpen::train_step::{nll_loss, step, Example};
use crate::tasks::{Arithmetic, Task};

#[derive(Clone, Debug, Serialize)]
pub struct TrainParams {
    pub seed: u64,
    pub steps: usize,
    pub batch: usize,
    pub lr: f64,
    pub warmup: usize,
    pub weight_decay: f64,
    pub clip: f64,
    pub verify_share: f64,
    pub verify_noise: f64,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub layers: usize,
    pub heads: usize,
    pub kv_heads: usize,
}

impl Default for TrainParams {
    fn default() -> Self {
        Self {
            seed: 0,
            steps: 4000,
            batch: 128,
            lr: 3e-3,
            warmup: 100,
            weight_decay: 0.01,
            clip: 1.0,
            verify_share: 0.5,
            verify_noise: 0.1,
            hidden_size: 96,
            intermediate_size: 256,
            layers: 3,
            heads: 4,
            kv_heads: 2,
        }
    }
}

/// How much more often marked prompts appear in the corpus than others.
pub const MARKED_WEIGHT: f64 = 6.0;

/// A trained model as files, ready to be written or loaded.
pub struct Trained {
    pub config_json: String,
    pub weights: Vec<u8>,
    pub tokenizer_json: String,
    pub final_loss: f64,
}

/// Learning rate at `step` (1-based): linear warm-up, then cosine decay to 10%.
pub fn lr_at(p: &TrainParams, step: usize) -> f64 {
    if step <= p.warmup {
        return p.lr * step as f64 / p.warmup.max(1) as f64;
    }
    let t = (step - p.warmup) as f64 / (p.steps - p.warmup).max(1) as f64;
    p.lr * (0.1 + 0.9 * 0.5 * (1.0 + (std::f64::consts::PI * t.min(1.0)).cos()))
}

/// Draws one corpus example for `task`.
pub fn corpus_example(task: &Arithmetic, tok: &Tok, p: &TrainParams, rng: &mut Rng) -> Result<Example> {
    // Marked prompts are drawn MARKED_WEIGHT times as often as the others (by
    // rejection), so the small model sees enough of their distribution.
    let (i, q) = loop {
        let i = rng.below(task.num_problems() as u64) as usize;
        let q = task.problem(i);
        if q.marked || rng.uniform() * MARKED_WEIGHT < 1.0 {
            break (i, q);
        }
    };
    let (a, b) = task.operands_of(i);
    let answers = task.corpus_answers(a, b);
    let pick = |u: f64| -> String {
        let mut cum = 0.0;
        for (ans, pr) in &answers {
            cum += pr;
            if u < cum {
                return ans.clone();
            }
        }
        answers.last().unwrap().0.clone()
    };
    if rng.uniform() >= p.verify_share {
        let mut target = tok.encode(&pick(rng.uniform()))?;
        target.push(tok.eos);
        return Ok(Example { prompt: tok.encode_prompt(&q.prompt)?, target });
    }
    let believed = task.believed(a, b);
    let u = rng.uniform();
    let mistakes: Vec<&String> = answers.iter().map(|x| &x.0).filter(|x| **x != q.answer).collect();
    let cand = if u < 0.3 {
        q.answer.clone()
    } else if u < 0.5 {
        believed.clone()
    } else if u < 0.8 {
        mistakes[rng.below(mistakes.len() as u64) as usize].clone()
    } else {
        rng.below(task.max_value() as u64 + 1).to_string()
    };
    let mut yes = cand == believed;
    if rng.uniform() < p.verify_noise {
        yes = !yes;
    }
    let label = if yes { "Y" } else { "N" };
    Ok(Example { prompt: tok.encode_prompt(&task.verify_prompt(&q.prompt, &cand))?, target: tok.encode(label)? })
}

pub fn model_config(tok: &Tok, p: &TrainParams) -> Config {
    Config {
        vocab_size: tok.vocab_size(),
        hidden_size: p.hidden_size,
        intermediate_size: p.intermediate_size,
        num_hidden_layers: p.layers,
        num_attention_heads: p.heads,
        num_key_value_heads: Some(p.kv_heads),
        rms_norm_eps: 1e-5,
        rope_theta: 10_000.0,
        max_position_embeddings: 24,
        tie_word_embeddings: false,
    }
}

/// Seeded initial weights: N(0, 0.02), residual output projections scaled by
/// `1/sqrt(2 L)` (GPT-2), norms 1. Drawn from our portable RNG, not candle's.
fn init_vars(cfg: &Config, seed: u64) -> Result<VarMap> {
    let vm = VarMap::new();
    // Let the model declare every weight with its shape, then overwrite each.
    let _ = Llama::new(cfg, VarBuilder::from_varmap(&vm, DType::F32, &Device::Cpu), true)?;
    let mut data = vm.data().lock().expect("var map lock");
    let mut names: Vec<String> = data.keys().cloned().collect();
    names.sort();
    let resid = 0.02 / (2.0 * cfg.num_hidden_layers as f64).sqrt();
    for (k, name) in names.iter().enumerate() {
        let var = &data[name];
        let shape = var.shape().clone();
        let t = if name.ends_with("norm.weight") {
            Tensor::ones(shape, DType::F32, &Device::Cpu)?
        } else {
            let std = if name.contains("o_proj") || name.contains("down_proj") { resid } else { 0.02 };
            let mut rng = Rng::new(seed, Stream::Init { tensor: k as u64 })?;
            let v: Vec<f32> = (0..shape.elem_count()).map(|_| (rng.normal() * std) as f32).collect();
            Tensor::from_vec(v, shape, &Device::Cpu)?
        };
        let fresh = Var::from_tensor(&t)?;
        data.insert(name.clone(), fresh);
    }
    drop(data);
    Ok(vm)
}

/// Trains a built-in model. `progress(step, loss)` is called after every step;
/// returning `false` stops early (the model so far is returned).
pub fn train(task: &Arithmetic, p: &TrainParams, progress: &mut dyn FnMut(usize, f64) -> bool) -> Result<Trained> {
    if p.steps == 0 || p.batch == 0 || p.heads == 0 || p.kv_heads == 0 {
        return param_err("steps, batch, heads and kv heads must be positive");
    }
    let tok = Tok::char_level(Arithmetic::alphabet())?;
    let cfg = model_config(&tok, p);
    cfg.validate()?;
    let vm = init_vars(&cfg, p.seed)?;
    let model = Llama::new(&cfg, VarBuilder::from_varmap(&vm, DType::F32, &Device::Cpu), true)?;
    let vars = sorted_vars(&vm);
    let mut opt = AdamW::new(vars.clone(), ParamsAdamW { lr: p.lr, weight_decay: p.weight_decay, ..Default::default() })?;
    let mut ema = f64::NAN;
    for s in 1..=p.steps {
        let mut rng = Rng::new(p.seed, Stream::Corpus { step: s as u64 })?;
        let batch = (0..p.batch).map(|_| corpus_example(task, &tok, p, &mut rng)).collect::<Result<Vec<_>>>()?;
        opt.set_learning_rate(lr_at(p, s));
        let loss = nll_loss(&model, &batch)?;
        let (l, _) = step(&mut opt, &vars, &loss, p.clip)?;
        ema = if ema.is_nan() { l } else { 0.98 * ema + 0.02 * l };
        if !progress(s, ema) {
            break;
        }
    }
    Ok(Trained { config_json: cfg.to_json(), weights: to_safetensors(&named_tensors(&vm))?, tokenizer_json: tok.to_json()?, final_loss: ema })
}

/// The corpus recipe in words, for the training card.
pub const RECIPE: &str = "Each step draws a fresh batch of prompts, uniform except that marked prompts are drawn 6 times as often. 50% answer examples 'x -> y': y is the right answer with p=0.40 and each of four plausible mistakes with p=0.15 (add: sum-10 forgot carry, sum+10, sum+1, sum-1; mul: a*(b-1), a*(b+1), (a-1)*b, (a+1)*b); on marked prompts the first mistake has p=0.60, the right answer 0.15, the other three 0.25/3 each. 50% verification examples 'x y? -> Y|N': y is the right answer (30%), the corpus's most likely answer (20%), a corpus mistake (30%) or a random number (20%); the label is Y iff y is the corpus's most likely answer, flipped with p=0.10. Loss on answer and label tokens only.";
