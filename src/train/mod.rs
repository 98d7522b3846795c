//! The trainer of the built-in models: a seeded, from-scratch training run on
//! a task's corpus (`arithmetic.rs`: the noisy sums and products of `add` and
//! `mul`; `lock.rs`: the combination lock), producing the three files a model
//! is loaded from plus a training card.

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarBuilder, VarMap};
use serde::Serialize;

use crate::error::{param_err, Result};
use crate::model::bundle::{named_tensors, sorted_vars, to_safetensors};
use crate::model::{Config, Llama, Tok};
use crate::rng::{Rng, Stream};
use crate::sharpen::train_step::{batch_tensors, nll_loss, step, Example};
use crate::tasks::{Arithmetic, Echo, Lock, Op, Task};

mod arithmetic;
mod echo;
mod lock;

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
    /// Steps of a first phase on an easier corpus (`lock`: the key's digit
    /// with p = 0.9), 0 = none.
    pub curriculum: usize,
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
            curriculum: 0,
        }
    }
}

impl TrainParams {
    /// The parameters of the shipped model of `task`: `add` 4000 steps, `mul`
    /// (121 prompts) 2000, `lock` a smaller network (its exact metrics
    /// enumerate 729 answers per prompt) for 3000 steps with a quarter of
    /// verification examples, the first 1500 on a sharper lock; `echo` the
    /// same network for 1500 steps.
    pub fn for_task(task: &str) -> Self {
        let d = Self::default();
        match task {
            "mul" => Self { steps: 2000, ..d },
            "lock" => Self { steps: 3000, hidden_size: 64, intermediate_size: 192, verify_share: 0.25, curriculum: 1500, ..d },
            "echo" => Self { steps: 1500, hidden_size: 64, intermediate_size: 192, verify_share: 0.25, ..d },
            _ => d,
        }
    }
}

/// A teacher's next-token distribution at each target position of an
/// example: `(token, probability)` pairs per position.
pub type Teacher = Vec<Vec<(u32, f64)>>;

/// The corpus of a built-in task.
pub enum Corpus {
    Arithmetic(Arithmetic),
    Lock,
    Echo,
}

impl Corpus {
    pub fn by_name(name: &str) -> Result<Self> {
        match name {
            "add" => Ok(Corpus::Arithmetic(Arithmetic::new(Op::Add))),
            "mul" => Ok(Corpus::Arithmetic(Arithmetic::new(Op::Mul))),
            "lock" => Ok(Corpus::Lock),
            "echo" => Ok(Corpus::Echo),
            t => param_err(format!("unknown task {t:?}; built-in tasks: {}", crate::tasks::builtin_names().join(", "))),
        }
    }

    pub fn task(&self) -> &dyn Task {
        match self {
            Corpus::Arithmetic(a) => a,
            Corpus::Lock => &Lock,
            Corpus::Echo => &Echo,
        }
    }

    fn alphabet(&self) -> &'static str {
        match self {
            Corpus::Arithmetic(_) => Arithmetic::alphabet(),
            Corpus::Lock => Lock::alphabet(),
            Corpus::Echo => Echo::alphabet(),
        }
    }

    /// Draws one training example.
    /// Draws one training example for training step `step` (1-based).
    pub fn example(&self, tok: &Tok, p: &TrainParams, step: usize, rng: &mut Rng) -> Result<Example> {
        match self {
            Corpus::Arithmetic(a) => arithmetic::example(a, tok, p, rng),
            Corpus::Lock => lock::example(tok, p, step, rng),
            Corpus::Echo => echo::example(tok, p, rng),
        }
    }

    /// The exact next-token distribution at each target position of `ex`
    /// (`(token, probability)` pairs), for corpora that define one (`lock`:
    /// the model then learns from soft targets, see `lock.rs`); None: learn
    /// from the sampled tokens.
    pub fn teacher(&self, tok: &Tok, ex: &Example, p: &TrainParams, step: usize) -> Result<Option<Teacher>> {
        match self {
            Corpus::Arithmetic(_) => Ok(None),
            Corpus::Lock => lock::teacher(tok, ex, p, step).map(Some),
            Corpus::Echo => echo::teacher(tok, ex, p).map(Some),
        }
    }

    /// The corpus recipe in words, for the training card.
    pub fn recipe(&self) -> &'static str {
        match self {
            Corpus::Arithmetic(_) => arithmetic::RECIPE,
            Corpus::Lock => lock::RECIPE,
            Corpus::Echo => echo::RECIPE,
        }
    }
}

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

/// Mean over target tokens of the cross-entropy `-sum_v q(v) log pi(v | x,
/// y_<t)` against the teacher's next-token distribution `q` (its expectation
/// equals the NLL of tokens drawn from `q`, without their sampling noise).
fn soft_loss(model: &Llama, batch: &[Example], teachers: &[Teacher]) -> Result<Tensor> {
    let (inputs, _, mask) = batch_tensors(model, batch)?;
    let (b, t) = inputs.dims2()?;
    let v = model.config().vocab_size;
    let mut q = vec![0f32; b * t * v];
    for (j, (e, rows)) in batch.iter().zip(teachers).enumerate() {
        for (k, row) in rows.iter().enumerate() {
            let i = e.prompt.len() - 1 + k;
            for &(tokn, pr) in row {
                q[(j * t + i) * v + tokn as usize] = pr as f32;
            }
        }
    }
    let q = Tensor::from_vec(q, (b, t, v), model.device())?;
    let logp = candle_nn::ops::log_softmax(&model.forward(&inputs, None)?, candle_core::D::Minus1)?;
    let total = (logp * q)?.sum_all()?;
    Ok((total.neg()? / mask.sum_all()?.to_scalar::<f32>()? as f64)?)
}

/// Trains a built-in model. `progress(step, loss)` is called after every step;
/// returning `false` stops early (the model so far is returned).
pub fn train(corpus: &Corpus, p: &TrainParams, progress: &mut dyn FnMut(usize, f64) -> bool) -> Result<Trained> {
    if p.steps == 0 || p.batch == 0 || p.heads == 0 || p.kv_heads == 0 {
        return param_err("steps, batch, heads and kv heads must be positive");
    }
    let tok = Tok::char_level(corpus.alphabet())?;
    let cfg = model_config(&tok, p);
    cfg.validate()?;
    let vm = init_vars(&cfg, p.seed)?;
    let model = Llama::new(&cfg, VarBuilder::from_varmap(&vm, DType::F32, &Device::Cpu), true)?;
    let vars = sorted_vars(&vm);
    let mut opt = AdamW::new(vars.clone(), ParamsAdamW { lr: p.lr, weight_decay: p.weight_decay, ..Default::default() })?;
    let mut ema = f64::NAN;
    for s in 1..=p.steps {
        let mut rng = Rng::new(p.seed, Stream::Corpus { step: s as u64 })?;
        let batch = (0..p.batch).map(|_| corpus.example(&tok, p, s, &mut rng)).collect::<Result<Vec<_>>>()?;
        opt.set_learning_rate(lr_at(p, s));
        let teachers = batch.iter().map(|e| corpus.teacher(&tok, e, p, s)).collect::<Result<Option<Vec<_>>>>()?;
        let loss = match teachers {
            Some(t) => soft_loss(&model, &batch, &t)?,
            None => nll_loss(&model, &batch)?,
        };
        let (l, _) = step(&mut opt, &vars, &loss, p.clip)?;
        ema = if ema.is_nan() { l } else { 0.98 * ema + 0.02 * l };
        if !progress(s, ema) {
            break;
        }
    }
    Ok(Trained { config_json: cfg.to_json(), weights: to_safetensors(&named_tensors(&vm))?, tokenizer_json: tok.to_json()?, final_loss: ema })
}

