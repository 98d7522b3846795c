//! One optimisation step shared by SFT-Sharpening and the built-in trainer:
//! masked next-token negative log-likelihood, a check that the loss and every
//! gradient are finite, global-norm gradient clipping and an AdamW update.

use candle_core::{DType, Tensor, Var, D};
use candle_nn::{AdamW, Optimizer};

use crate::error::{check, Error, Result};
use crate::model::Llama;

/// A training example: the context and the target tokens whose likelihood is
/// maximised (for SFT: the prompt and the best-of-N answer plus `</s>`).
#[derive(Clone, Debug)]
pub struct Example {
    pub prompt: Vec<u32>,
    pub target: Vec<u32>,
}

/// The checks every sharpening run's optimiser settings share.
pub fn check_training(lr: f64, clip: f64, delta: f64, gamma: f64, eval_every: usize) -> Result<()> {
    let checks = [
        (eval_every == 0, "eval-every must be at least 1"),
        (!(lr.is_finite() && lr > 0.0 && lr <= 1.0), "learning rate must be in (0, 1]"),
        (!(clip.is_finite() && clip >= 0.0), "clip must be a number >= 0"),
        (!(delta > 0.0 && delta < 1.0), "delta must be in (0, 1)"),
        (!(gamma.is_finite() && (0.0..1.0).contains(&gamma)), "gamma must be in [0, 1)"),
    ];
    check(&checks)
}

/// Right-padded inputs, targets and target mask `(b, t)` of a batch.
pub(crate) fn batch_tensors(model: &Llama, batch: &[Example]) -> Result<(Tensor, Tensor, Tensor)> {
    let t = batch.iter().map(|e| e.prompt.len() + e.target.len() - 1).max().unwrap_or(0);
    if t == 0 || batch.iter().any(|e| e.prompt.is_empty() || e.target.is_empty()) {
        return Err(Error::Param("a training example needs a prompt and a target".into()));
    }
    let (mut inputs, mut targets, mut mask) = (Vec::new(), Vec::new(), Vec::new());
    for e in batch {
        let seq: Vec<u32> = [e.prompt.as_slice(), &e.target].concat();
        let n = seq.len() - 1;
        for i in 0..t {
            inputs.push(if i < n { seq[i] } else { seq[n] });
            targets.push(if i < n { seq[i + 1] } else { 0 });
            mask.push(if i + 1 >= e.prompt.len() && i < n { 1f32 } else { 0.0 });
        }
    }
    let dev = model.device();
    let b = batch.len();
    Ok((Tensor::from_vec(inputs, (b, t), dev)?, Tensor::from_vec(targets, (b, t, 1), dev)?, Tensor::from_vec(mask, (b, t), dev)?))
}

/// `log pi(y_t | x, y_<t)` at every position, masked to the target tokens: `(b, t)`.
fn target_logprobs(model: &Llama, batch: &[Example]) -> Result<(Tensor, Tensor)> {
    let (inputs, targets, mask) = batch_tensors(model, batch)?;
    let logits = model.forward(&inputs, None)?;
    let logp = candle_nn::ops::log_softmax(&logits, D::Minus1)?;
    let picked = logp.gather(&targets, 2)?.squeeze(2)?;
    Ok(((picked * &mask)?, mask))
}

/// Mean over target tokens of `-log pi(y_t | x, y_<t)` for a batch; sequences
/// are right-padded and pad positions masked out.
pub fn nll_loss(model: &Llama, batch: &[Example]) -> Result<Tensor> {
    let (picked, mask) = target_logprobs(model, batch)?;
    let total = picked.sum_all()?;
    Ok((total.neg()? / mask.sum_all()?.to_scalar::<f32>()? as f64)?)
}

/// `log pi(y|x)` of each example's whole target (differentiable): shape `(b,)`.
pub fn seq_logprobs(model: &Llama, batch: &[Example]) -> Result<Tensor> {
    let (picked, _) = target_logprobs(model, batch)?;
    Ok(picked.sum(1)?)
}

/// Backpropagates `loss`, clips the global gradient norm to `clip` (no clipping
/// when `clip <= 0`), and applies one AdamW step. Returns `(loss, grad_norm)`.
/// A non-finite loss or gradient is an error and leaves the weights unchanged.
pub fn step(opt: &mut AdamW, vars: &[Var], loss: &Tensor, clip: f64) -> Result<(f64, f64)> {
    let l = loss.to_dtype(DType::F64)?.to_scalar::<f64>()?;
    if !l.is_finite() {
        return Err(Error::NonFinite(format!("the loss is {l}; lower the learning rate")));
    }
    let mut grads = loss.backward()?;
    let mut sq = 0f64;
    for v in vars {
        if let Some(g) = grads.get(v) {
            sq += g.sqr()?.sum_all()?.to_dtype(DType::F64)?.to_scalar::<f64>()?;
        }
    }
    let norm = sq.sqrt();
    if !norm.is_finite() {
        return Err(Error::NonFinite(format!("the gradient norm is {norm}; lower the learning rate")));
    }
    if clip > 0.0 && norm > clip {
        let s = clip / norm;
        for v in vars {
            if let Some(g) = grads.remove(v) {
                grads.insert(v, (g * s)?);
            }
        }
    }
    opt.step(&grads)?;
    Ok((l, norm))
}

/// Mini-batches drawn without replacement from a dataset, reshuffled each
/// epoch with the portable RNG stream `(seed, Shuffle SftBatches, epoch)`.
pub struct Batches {
    seed: u64,
    epoch: u64,
    order: Vec<usize>,
}

impl Batches {
    pub fn new(seed: u64) -> Self {
        Self { seed, epoch: 0, order: Vec::new() }
    }

    /// The next `size` examples of `data` (which must not be empty).
    pub fn next(&mut self, data: &[Example], size: usize) -> Result<Vec<Example>> {
        Ok(self.next_indices(data.len(), size)?.into_iter().map(|i| data[i].clone()).collect())
    }

    /// The indices of the next `size` examples of a dataset of `len`.
    pub fn next_indices(&mut self, len: usize, size: usize) -> Result<Vec<usize>> {
        let mut batch = Vec::with_capacity(size);
        while batch.len() < size && len > 0 {
            if self.order.is_empty() {
                self.order = (0..len).collect();
                let stream = crate::rng::Stream::Shuffle { of: crate::rng::Shuffled::SftBatches, epoch: self.epoch };
                crate::rng::Rng::new(self.seed, stream)?.shuffle(&mut self.order);
                self.epoch += 1;
            }
            batch.push(self.order.pop().unwrap_or(0));
        }
        Ok(batch)
    }
}

/// The learning rate of step `s` (1-based) of `steps`: `lr` decayed to 0 on a
/// half cosine, `lr (1 + cos(pi (s - 1) / steps)) / 2` (step 1 at `lr`).
/// Shared by SFT- and RLHF-Sharpening: late in training the gradients are
/// tiny and Adam's normalised steps would otherwise stay at full size, where
/// last-bit differences between builds grow into different runs.
pub fn cosine_lr(lr: f64, s: usize, steps: usize) -> f64 {
    let frac = (s - 1) as f64 / steps.max(1) as f64;
    lr * 0.5 * (1.0 + (std::f64::consts::PI * frac).cos())
}

/// [`step`] at training step `s`, naming the step in a non-finite error.
pub fn step_at(s: usize, opt: &mut AdamW, vars: &[Var], loss: &Tensor, clip: f64) -> Result<(f64, f64)> {
    step(opt, vars, loss, clip).map_err(|e| match e {
        Error::NonFinite(m) => Error::NonFinite(format!("at step {s}: {m}")),
        e => e,
    })
}
