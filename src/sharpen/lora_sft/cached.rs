//! The training loss of LoRA SFT-Sharpening, computed where it changes:
//! each example's residual stream entering the first adapted block is
//! computed once (the blocks below are frozen, so it is the same at every
//! step), and the output head runs only at the answer positions the loss
//! reads (49,152-way for SmolLM2), not at every prompt position.
//!
//! The loss is the one of `train_step::nll_loss` — the mean over answer
//! tokens of `-log pi(y_t | x, y_<t)`, the SFT-Sharpening objective of Eq. 7
//! (arXiv 2412.01951) — and so is its gradient with respect to the adapters
//! (`tests/suite/lora.rs` checks it against finite differences of the full model).

use candle_core::{Tensor, D};

use crate::error::{Error, Result};
use crate::model::Llama;
use crate::sharpen::train_step::Example;

pub struct Cached {
    /// The first adapted block.
    first: usize,
    /// Per example: the stream entering block `first`, `[positions, hidden]`,
    /// positions = prompt + target - 1 (the last target token is not fed).
    hidden: Vec<Tensor>,
    examples: Vec<Example>,
}

impl Cached {
    /// Runs the frozen blocks `0..first` of `frozen` once per example.
    pub fn new(frozen: &Llama, data: &[Example], first: usize) -> Result<Self> {
        let mut hidden = Vec::with_capacity(data.len());
        for e in data {
            if e.prompt.is_empty() || e.target.is_empty() {
                return Err(Error::Param("a training example needs a prompt and a target".into()));
            }
            let seq: Vec<u32> = [e.prompt.as_slice(), &e.target[..e.target.len() - 1]].concat();
            let ids = Tensor::new(seq.as_slice(), frozen.device())?.unsqueeze(0)?;
            hidden.push(frozen.hidden_before(&ids, first)?.squeeze(0)?.detach());
        }
        Ok(Self { first, hidden, examples: data.to_vec() })
    }

    pub fn len(&self) -> usize {
        self.examples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.examples.is_empty()
    }

    /// `log pi(y_t | x, y_<t)` of every answer token of examples `idx`
    /// (flattened, example by example) and each example's token count.
    fn target_logprobs(&self, model: &Llama, idx: &[usize]) -> Result<(Tensor, Vec<usize>)> {
        let t = idx.iter().map(|&i| self.hidden[i].dim(0)).collect::<candle_core::Result<Vec<_>>>()?;
        let width = t.iter().copied().max().unwrap_or(0);
        let (mut rows, mut targets, mut counts, mut padded) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (k, &i) in idx.iter().enumerate() {
            let e = &self.examples[i];
            let h = &self.hidden[i];
            // Right padding with zeros: causal attention keeps it out of the
            // real positions, and no loss row reads it.
            padded.push(if t[k] < width { Tensor::cat(&[h, &Tensor::zeros((width - t[k], h.dim(1)?), h.dtype(), h.device())?], 0)? } else { h.clone() });
            for (j, &y) in e.target.iter().enumerate() {
                rows.push((k * width + e.prompt.len() - 1 + j) as u32);
                targets.push(y);
            }
            counts.push(e.target.len());
        }
        let dev = model.device();
        let h = Tensor::stack(&padded, 0)?;
        let logits = model.logits_at(&h, self.first, &Tensor::new(rows.as_slice(), dev)?)?;
        let logp = candle_nn::ops::log_softmax(&logits, D::Minus1)?;
        let picked = logp.gather(&Tensor::new(targets.as_slice(), dev)?.unsqueeze(1)?, 1)?.squeeze(1)?;
        Ok((picked, counts))
    }

    /// Mean over the answer tokens of examples `idx` of `-log pi(y_t | ...)`.
    pub fn loss(&self, model: &Llama, idx: &[usize]) -> Result<Tensor> {
        let (picked, counts) = self.target_logprobs(model, idx)?;
        let n: usize = counts.iter().sum();
        Ok((picked.sum_all()?.neg()? / n as f64)?)
    }

    /// `log pi(y|x)` of each example's whole answer (`</s>` included), nats.
    pub fn logps(&self, model: &Llama) -> Result<Vec<f64>> {
        let mut out = Vec::with_capacity(self.len());
        let all: Vec<usize> = (0..self.len()).collect();
        for chunk in all.chunks(8) {
            let (picked, counts) = self.target_logprobs(model, chunk)?;
            let v = picked.detach().to_vec1::<f32>()?;
            let mut at = 0;
            for c in counts {
                out.push(v[at..at + c].iter().map(|&x| f64::from(x)).sum());
                at += c;
            }
        }
        Ok(out)
    }
}
