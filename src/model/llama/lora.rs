//! Low-rank adapters on the decoder (LoRA: Hu et al. 2021, Eq. 3) and what
//! makes training them cheap: a product with a frozen weight whose backward
//! pass computes only the input's gradient, adapters on a range of the top
//! blocks (the residual stream entering the first adapted block is computed
//! once per example, not once per step) and logits only at the rows the loss
//! reads.

use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor};

use super::{linear, names, Llama, Proj, Projection};
use crate::error::{param_err, Error, Result};

/// `x W^T` for a frozen `W`. When `x` takes part in a gradient, candle's
/// matmul would also form `dL/dW` (as many flops as the product itself) for a
/// weight no optimiser reads; this op's backward pass returns `dL/dx = g W`
/// only. Values are those of `linear` exactly.
pub(super) fn frozen_linear(x: &Tensor, w: &Tensor) -> candle_core::Result<Tensor> {
    if !x.track_op() {
        return linear(x, w);
    }
    x.contiguous()?.apply_op1(Frozen { w: w.clone() })
}

struct Frozen {
    w: Tensor,
}

impl CustomOp1 for Frozen {
    fn name(&self) -> &'static str {
        "frozen-linear"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (start, end) = layout.contiguous_offsets().ok_or_else(|| candle_core::Error::Msg("frozen-linear: input not contiguous".into()))?;
        let x = Tensor::from_slice(&storage.as_slice::<f32>()?[start..end], layout.shape(), &candle_core::Device::Cpu)?;
        let y = linear(&x, &self.w)?;
        let shape = y.shape().clone();
        Ok((CpuStorage::F32(y.flatten_all()?.to_vec1::<f32>()?), shape))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let out = self.w.dim(0)?;
        let rows = grad_res.elem_count() / out;
        let g = grad_res.reshape((rows, out))?.matmul(&self.w)?;
        Ok(Some(g.reshape(arg.shape())?))
    }
}

impl Llama {
    /// Puts low-rank adapters on every projection of blocks `first..L` (the
    /// blocks below and the output head stay frozen), reading `A` and `B`
    /// from `vars` by name (`model.layers.{i}.{proj}.lora_a` / `lora_b`), so
    /// a training model and an inference view built over the same `VarMap`
    /// share them. Adapters absent from `vars` are created there: `A` ~
    /// N(0, 1/in) from the portable RNG stream `(seed, LoraInit k)` with `k`
    /// = 7 x block + projection, `B` = 0, so training starts from the base
    /// model exactly.
    pub fn add_lora(&mut self, vars: &candle_nn::VarMap, rank: usize, alpha: f64, seed: u64, first: usize) -> Result<()> {
        use crate::rng::{Rng, Stream};
        if rank == 0 || rank > 256 {
            return param_err(format!("LoRA rank {rank} must be in 1..=256"));
        }
        if first >= self.blocks.len() {
            return param_err(format!("the first adapted block {first} is past the model's {} blocks", self.blocks.len()));
        }
        let dev = self.device().clone();
        let mut data = vars.data().lock().map_err(|_| Error::Other("poisoned lock".into()))?;
        for (i, blk) in self.blocks.iter_mut().enumerate().skip(first) {
            for (j, (p, which)) in blk.proj.iter_mut().zip(Projection::ALL).enumerate() {
                let dense = p.dense().clone();
                let (out, inp) = dense.dims2()?;
                let name = format!("{}.{}", names::block(i), which.hf());
                let (an, bn) = (format!("{name}.lora_a"), format!("{name}.lora_b"));
                if !data.contains_key(&an) {
                    let mut r = Rng::new(seed, Stream::LoraInit { adapter: (i * 7 + j) as u64 })?;
                    let sd = 1.0 / (inp as f64).sqrt();
                    let init: Vec<f32> = (0..rank * inp).map(|_| (r.normal() * sd) as f32).collect();
                    data.insert(an.clone(), candle_core::Var::from_tensor(&Tensor::from_vec(init, (rank, inp), &dev)?)?);
                    data.insert(bn.clone(), candle_core::Var::zeros((out, rank), candle_core::DType::F32, &dev)?);
                }
                let a = data[&an].as_tensor().clone();
                let b = data[&bn].as_tensor().clone();
                if a.dims() != [rank, inp] || b.dims() != [out, rank] {
                    return param_err(format!("{name}: adapter shapes {:?} {:?} do not fit rank {rank}", a.dims(), b.dims()));
                }
                *p = Proj::Lora { dense, a, b, scale: alpha / rank as f64, frozen_backward: true };
            }
        }
        Ok(())
    }

    /// Whether products with frozen weights form only their input's gradient
    /// (true after `add_lora`); false = candle's matmul, which also forms the
    /// weights' (the speed baseline).
    pub fn set_frozen_backward(&mut self, on: bool) {
        for p in self.blocks.iter_mut().flat_map(|b| b.proj.iter_mut()) {
            if let Proj::Lora { frozen_backward, .. } = p {
                *frozen_backward = on;
            }
        }
    }

    /// The residual stream entering block `layer` (`[batch, time, hidden]`),
    /// from position 0: what the frozen blocks below the adapters compute,
    /// the same at every training step.
    pub fn hidden_before(&self, ids: &Tensor, layer: usize) -> Result<Tensor> {
        if layer > self.blocks.len() {
            return param_err(format!("block {layer} is past the model's {} blocks", self.blocks.len()));
        }
        let (_, t) = ids.dims2()?;
        if t > self.cfg.max_position_embeddings {
            return param_err(format!("sequence of {t} tokens exceeds the model's {} positions", self.cfg.max_position_embeddings));
        }
        self.run_blocks(self.embed_ids(ids)?, 0..layer, 0, None)
    }

    /// Logits `[rows, vocab]` at the flattened positions `rows` (u32 indices
    /// into `batch x time`) of the residual stream `h` entering block
    /// `layer`: blocks `layer..L`, the final norm, and the output head on
    /// those rows only. The head is treated as frozen (no gradient for it).
    pub fn logits_at(&self, h: &Tensor, layer: usize, rows: &Tensor) -> Result<Tensor> {
        let (b, t, d) = h.dims3()?;
        let x = self.run_blocks(h.clone(), layer..self.blocks.len(), 0, None)?;
        let x = x.reshape((b * t, d))?.index_select(rows, 0)?;
        let x = self.rms_norm(&x, &self.norm)?;
        Ok(frozen_linear(&x, self.lm_head.dense())?)
    }
}

impl Llama {
    /// Hugging Face names of the projections (and head) that have 8-bit
    /// copies: what [`Llama::use_q8`] takes to quantise a merged model alike.
    pub fn quantized_names(&self) -> std::collections::HashSet<String> {
        let mut out: std::collections::HashSet<String> = self
            .blocks
            .iter()
            .enumerate()
            .flat_map(|(i, b)| b.proj.iter().zip(Projection::ALL).filter(|(p, _)| matches!(p, Proj::Quant { .. })).map(move |(_, w)| names::projection(i, w)))
            .collect();
        if matches!(self.lm_head, Proj::Quant { .. }) {
            out.insert((if self.cfg.tie_word_embeddings { names::EMBED } else { names::LM_HEAD }).to_string());
        }
        out
    }

    /// An inference copy with every adapter merged, `W' = W + (alpha / r) B A`
    /// (Hu et al. 2021, Section 4.1: no extra cost at inference), and 8-bit
    /// copies of the weights named in `quantize`, so it decodes as fast as
    /// the base model (`decode::on_cpu`).
    pub fn merge_lora(&self, quantize: &std::collections::HashSet<String>) -> Result<Llama> {
        let mut blocks = Vec::with_capacity(self.blocks.len());
        for blk in &self.blocks {
            let mut proj = blk.proj.clone();
            for p in proj.iter_mut() {
                if let Proj::Lora { dense, a, b, scale, .. } = p {
                    let merged = (dense.detach() + (b.detach().matmul(&a.detach())? * *scale)?)?;
                    *p = Proj::Dense(merged);
                }
            }
            blocks.push(super::Block { attn_norm: blk.attn_norm.clone(), proj, mlp_norm: blk.mlp_norm.clone() });
        }
        let lm_head = Proj::Dense(self.lm_head.dense().clone());
        let mut m = Llama { cfg: self.cfg.clone(), embed: self.embed.clone(), blocks, norm: self.norm.clone(), lm_head, cos: self.cos.clone(), sin: self.sin.clone(), trainable: false };
        m.use_q8(quantize)?;
        Ok(m)
    }
}
