//! A Llama-style decoder, top to bottom: token embedding, `L` blocks of
//! (RMSNorm -> multi-head attention with rotary positions and optional grouped
//! K/V heads -> residual, RMSNorm -> SwiGLU MLP -> residual), a final RMSNorm and
//! the output projection. Weight names follow the Hugging Face Llama layout.
//!
//! One implementation serves inference and training. `Llama::new` takes a
//! candle-nn `VarBuilder`: from safetensors bytes for inference, from a `VarMap`
//! for training, where every op below stays differentiable (`trainable = true`
//! picks the composed ops; inference uses candle's fused kernels).

use std::sync::Arc;

use candle_core::{Device, Module, Tensor, D};
use candle_nn::VarBuilder;

use super::cache::KvCache;
use super::config::Config;
use super::names::{self, Projection};
use super::q8::Q8Matrix;

mod lora;
mod q8_forward;
pub use q8_forward::exp as portable_exp;
use crate::error::Result;

/// `x @ w^T` for `x` of shape `[.., in]` and `w` of shape `[out, in]`.
fn linear(x: &Tensor, w: &Tensor) -> candle_core::Result<Tensor> {
    let dims = x.dims().to_vec();
    let inner = dims[dims.len() - 1];
    let rows: usize = dims[..dims.len() - 1].iter().product();
    let x = x.reshape((rows, inner))?;
    // A few rows: `(w x^T)^T` lets gemm stream the weight matrix in its
    // stored row-major order instead of repacking its transpose (1.5-3x
    // faster for 16 rows on SmolLM2's shapes; slower from 64 rows on).
    let out = if (2..=32).contains(&rows) { w.matmul(&x.t()?)?.t()?.contiguous()? } else { x.matmul(&w.t()?)? };
    let mut shape = dims;
    *shape.last_mut().unwrap() = w.dim(0)?;
    out.reshape(shape)
}

/// A projection weight `[out, in]`: dense f32 (exact, differentiable), or
/// also an 8-bit copy (`super::q8`, blocks of 32 like llama.cpp's Q8_0) that
/// decoding reads: `q8_forward::forward_q8` (the `decode::Q8Decode`
/// backend of a model whose projections all have one), bit-identical
/// natively and in wasm. Reading 8
/// instead of 32 bits per weight is what decoding costs; activations are
/// quantised per block too, so log-probabilities differ slightly from the
/// dense path, which scoring, training and models without 8-bit copies use.
///
/// `Lora` adds a trainable low-rank update to a frozen dense weight (Hu et al.
/// 2021, Eq. 3): `h = x W^T + (alpha / r) (x A^T) B^T`, `A` `[r, in]`, `B` `[out, r]`.
#[derive(Clone)]
enum Proj {
    Dense(Tensor),
    Quant { q8: Arc<Q8Matrix>, dense: Tensor },
    /// `frozen_backward`: the product with `W` forms only the input's
    /// gradient (`lora::frozen_linear`); false = candle's matmul (the speed
    /// baseline of `sharpen bench --lora`).
    Lora { dense: Tensor, a: Tensor, b: Tensor, scale: f64, frozen_backward: bool },
}

impl Proj {
    fn dense(&self) -> &Tensor {
        match self {
            Proj::Dense(w) | Proj::Quant { dense: w, .. } | Proj::Lora { dense: w, .. } => w,
        }
    }

    fn apply(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Proj::Lora { dense, a, b, scale, frozen_backward } => {
                let base = if *frozen_backward { lora::frozen_linear(x, dense)? } else { linear(x, dense)? };
                base + (linear(&linear(x, a)?, b)? * *scale)?
            }
            p => linear(x, p.dense()),
        }
    }
}

struct Block {
    attn_norm: Tensor,
    /// q, k, v, o, gate, up, down (the order of `names::Projection::ALL`).
    proj: [Proj; 7],
    mlp_norm: Tensor,
}

impl Block {
    fn new(cfg: &Config, vb: VarBuilder) -> candle_core::Result<Self> {
        let d = cfg.hidden_size;
        let init = candle_nn::init::DEFAULT_KAIMING_NORMAL;
        let ones = candle_nn::Init::Const(1.0);
        let dense = |p: Projection| vb.get_with_hints(p.shape(cfg), &format!("{}.weight", p.hf()), init).map(Proj::Dense);
        let [q, k, v, o, gate, up, down] = Projection::ALL.map(dense);
        Ok(Self {
            attn_norm: vb.get_with_hints(d, &format!("{}.weight", names::ATTN_NORM.0), ones)?,
            proj: [q?, k?, v?, o?, gate?, up?, down?],
            mlp_norm: vb.get_with_hints(d, &format!("{}.weight", names::MLP_NORM.0), ones)?,
        })
    }
}

/// The decoder. Cheap to clone (tensors are reference counted).
pub struct Llama {
    cfg: Config,
    embed: Tensor,
    blocks: Vec<Block>,
    norm: Tensor,
    lm_head: Proj,
    /// Rotary tables, `[max_positions, head_dim / 2]`, computed here and never
    /// read from the weights file.
    cos: Tensor,
    sin: Tensor,
    trainable: bool,
}

impl Llama {
    /// Builds the model from `vb`. Missing or mis-shaped weights are errors.
    pub fn new(cfg: &Config, vb: VarBuilder, trainable: bool) -> Result<Self> {
        cfg.validate()?;
        let (v, d) = (cfg.vocab_size, cfg.hidden_size);
        let embed = vb.get_with_hints((v, d), names::EMBED, candle_nn::Init::Randn { mean: 0.0, stdev: 0.02 })?;
        let blocks = (0..cfg.num_hidden_layers)
            .map(|i| Block::new(cfg, vb.pp(names::block(i))))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let norm = vb.get_with_hints(d, names::FINAL_NORM, candle_nn::Init::Const(1.0))?;
        let lm_head = Proj::Dense(if cfg.tie_word_embeddings {
            embed.clone()
        } else {
            vb.get_with_hints((v, d), names::LM_HEAD, candle_nn::init::DEFAULT_KAIMING_NORMAL)?
        });
        let (cos, sin) = rope_tables(cfg, vb.device())?;
        Ok(Self { cfg: cfg.clone(), embed, blocks, norm, lm_head, cos, sin, trainable })
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Adds 8-bit copies (`super::q8`) of the named projection weights (and
    /// of the output head), by Hugging Face name
    /// (`model.layers.3.mlp.up_proj.weight`, `lm_head.weight`), quantised from
    /// the dense weights; a matrix whose inputs are not a multiple of 32 stays
    /// dense. Inference only.
    pub fn use_q8(&mut self, quantized: &std::collections::HashSet<String>) -> Result<()> {
        if self.trainable {
            return crate::error::param_err("a trainable model cannot use quantised weights");
        }
        let quantize = |name: &str, p: &mut Proj| -> Result<()> {
            let dense = p.dense().clone();
            let (n, k) = dense.dims2()?;
            if let Some(q8) = Q8Matrix::from_dense(&dense.flatten_all()?.to_vec1::<f32>()?, n, k) {
                *p = Proj::Quant { q8: Arc::new(q8), dense };
            } else if k % super::q8::QK == 0 {
                return Err(crate::error::Error::Weights(format!("{name}: a weight is NaN or infinite")));
            }
            Ok(())
        };
        for (i, blk) in self.blocks.iter_mut().enumerate() {
            for (p, which) in blk.proj.iter_mut().zip(Projection::ALL) {
                let name = names::projection(i, which);
                if quantized.contains(&name) {
                    quantize(&name, p)?;
                }
            }
        }
        let head = if self.cfg.tie_word_embeddings { names::EMBED } else { names::LM_HEAD };
        if quantized.contains(head) {
            quantize(head, &mut self.lm_head)?;
        }
        Ok(())
    }

    /// The storage of the matmul weights: "f32", or the ggml types in use
    /// (e.g. "q8 (decoding) x 211": 8-bit copies read when decoding).
    pub fn weights_kind(&self) -> String {
        let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
        for p in self.blocks.iter().flat_map(|b| b.proj.iter()).chain([&self.lm_head]) {
            let k = match p {
                Proj::Dense(_) => "f32".to_string(),
                Proj::Lora { .. } => "f32 + LoRA".to_string(),
                Proj::Quant { .. } => "q8 (decoding)".to_string(),
            };
            *counts.entry(k).or_default() += 1;
        }
        if counts.len() == 1 && counts.contains_key("f32") {
            return "f32".into();
        }
        counts.iter().map(|(k, n)| format!("{k} x {n}")).collect::<Vec<_>>().join(", ")
    }

    pub fn device(&self) -> &Device {
        self.embed.device()
    }

    /// Logits at every position: `ids` is `[batch, time]` (u32), the result is
    /// `[batch, time, vocab]` (f32). With a cache, `ids` continue the cached
    /// sequences (positions start at `cache.len()`) and the cache is extended.
    pub fn forward(&self, ids: &Tensor, mut cache: Option<&mut KvCache>) -> Result<Tensor> {
        let (_, t) = ids.dims2()?;
        let offset = cache.as_ref().map_or(0, |c| c.len());
        if offset + t > self.cfg.max_position_embeddings {
            return crate::error::param_err(format!(
                "sequence of {} tokens exceeds the model's {} positions",
                offset + t,
                self.cfg.max_position_embeddings
            ));
        }
        let x = self.embed_ids(ids)?;
        let x = self.run_blocks(x, 0..self.blocks.len(), offset, cache.as_deref_mut())?;
        if let Some(c) = cache {
            c.advance(t);
        }
        let x = self.rms_norm(&x, &self.norm)?;
        Ok(self.lm_head.apply(&x)?)
    }

    fn embed_ids(&self, ids: &Tensor) -> candle_core::Result<Tensor> {
        candle_nn::Embedding::new(self.embed.clone(), self.cfg.hidden_size).forward(ids)
    }

    /// The residual stream `x` (`[batch, time, hidden]`, positions from
    /// `offset`) through blocks `layers`.
    fn run_blocks(&self, mut x: Tensor, layers: std::ops::Range<usize>, offset: usize, mut cache: Option<&mut KvCache>) -> Result<Tensor> {
        let (_, t, _) = x.dims3()?;
        let mask = causal_mask(t, offset, x.device())?;
        for i in layers {
            let blk = &self.blocks[i];
            let h = self.rms_norm(&x, &blk.attn_norm)?;
            let kv_slot = match cache.as_deref_mut() {
                Some(c) => Some(c.layer_mut(i)?),
                None => None,
            };
            let a = self.attention(&h, blk, offset, mask.as_ref(), kv_slot)?;
            x = (x + a)?;
            let h = self.rms_norm(&x, &blk.mlp_norm)?;
            let g = candle_nn::ops::silu(&blk.proj[4].apply(&h)?)?;
            let m = blk.proj[6].apply(&(g * blk.proj[5].apply(&h)?)?)?;
            x = (x + m)?;
        }
        Ok(x)
    }

    fn rms_norm(&self, x: &Tensor, w: &Tensor) -> candle_core::Result<Tensor> {
        let eps = self.cfg.rms_norm_eps as f32;
        if self.trainable {
            candle_nn::ops::rms_norm_slow(x, w, eps)
        } else {
            candle_nn::ops::rms_norm(&x.contiguous()?, w, eps)
        }
    }

    fn attention(
        &self,
        x: &Tensor,
        blk: &Block,
        offset: usize,
        mask: Option<&Tensor>,
        slot: Option<&mut (Option<Tensor>, Option<Tensor>)>,
    ) -> candle_core::Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        let (h, kvh, hd) = (self.cfg.num_attention_heads, self.cfg.kv_heads(), self.cfg.head_dim());
        let q = blk.proj[0].apply(x)?.reshape((b, t, h, hd))?.transpose(1, 2)?.contiguous()?;
        let k = blk.proj[1].apply(x)?.reshape((b, t, kvh, hd))?.transpose(1, 2)?.contiguous()?;
        let v = blk.proj[2].apply(x)?.reshape((b, t, kvh, hd))?.transpose(1, 2)?.contiguous()?;
        let cos = self.cos.narrow(0, offset, t)?;
        let sin = self.sin.narrow(0, offset, t)?;
        let (q, k) = if self.trainable {
            (candle_nn::rotary_emb::rope_slow(&q, &cos, &sin)?, candle_nn::rotary_emb::rope_slow(&k, &cos, &sin)?)
        } else {
            (candle_nn::rotary_emb::rope(&q, &cos, &sin)?, candle_nn::rotary_emb::rope(&k, &cos, &sin)?)
        };
        let (k, v) = match slot {
            Some((ck, cv)) => {
                let k = match ck.as_ref() {
                    Some(prev) => Tensor::cat(&[prev, &k], 2)?,
                    None => k,
                };
                let v = match cv.as_ref() {
                    Some(prev) => Tensor::cat(&[prev, &v], 2)?,
                    None => v,
                };
                *ck = Some(k.clone());
                *cv = Some(v.clone());
                (k, v)
            }
            None => (k, v),
        };
        let scale = 1.0 / (hd as f64).sqrt();
        if t == 1 && kvh < h {
            // Decoding one token with grouped K/V heads: the `rep` query heads
            // sharing a K/V head become `rep` rows of one product, so K/V are
            // not copied per head and there are `b * kv` products, not `b * h`.
            let q = q.reshape((b, kvh, h / kvh, hd))?;
            let att = (q.matmul(&k.t()?)? * scale)?;
            let att = if self.trainable {
                candle_nn::ops::softmax(&att, D::Minus1)?
            } else {
                candle_nn::ops::softmax_last_dim(&att)?
            };
            return blk.proj[3].apply(&att.matmul(&v)?.reshape((b, 1, d))?);
        }
        let (k, v) = (repeat_kv(&k, h / kvh)?, repeat_kv(&v, h / kvh)?);
        let mut att = (q.matmul(&k.t()?)? * scale)?;
        if let Some(m) = mask {
            att = att.broadcast_add(m)?;
        }
        let att = if self.trainable {
            candle_nn::ops::softmax(&att, D::Minus1)?
        } else {
            candle_nn::ops::softmax_last_dim(&att)?
        };
        let y = att.matmul(&v)?.transpose(1, 2)?.reshape((b, t, d))?;
        blk.proj[3].apply(&y)
    }
}

/// `[b, kv, s, hd]` -> `[b, kv * rep, s, hd]`, each K/V head shared by `rep`
/// consecutive query heads (grouped-query attention).
fn repeat_kv(x: &Tensor, rep: usize) -> candle_core::Result<Tensor> {
    if rep == 1 {
        return Ok(x.clone());
    }
    let (b, kv, s, hd) = x.dims4()?;
    x.unsqueeze(2)?.expand((b, kv, rep, s, hd))?.reshape((b, kv * rep, s, hd))
}

/// Additive mask `[t, offset + t]`: `-inf` where key position `j` lies after
/// query position `offset + i`. `None` when a single new token sees everything.
fn causal_mask(t: usize, offset: usize, dev: &Device) -> candle_core::Result<Option<Tensor>> {
    if t == 1 {
        return Ok(None);
    }
    let s = offset + t;
    let data: Vec<f32> = (0..t)
        .flat_map(|i| (0..s).map(move |j| if j > offset + i { f32::NEG_INFINITY } else { 0.0 }))
        .collect();
    Ok(Some(Tensor::from_vec(data, (t, s), dev)?))
}

/// Rotary position tables (RoFormer): for pair `i` of a head,
/// `theta_i = base^(-2i / head_dim)`, angle `p * theta_i` at position `p`,
/// for positions `0..len`, row-major `[len, head_dim / 2]`. Computed in f64
/// then rounded, so every platform (and the GPU path) gets the same f32 tables.
pub fn rope_table_values(cfg: &Config, len: usize) -> (Vec<f32>, Vec<f32>) {
    let half = cfg.head_dim() / 2;
    let mut cos = Vec::with_capacity(len * half);
    let mut sin = Vec::with_capacity(len * half);
    for p in 0..len {
        for i in 0..half {
            let theta = cfg.rope_theta.powf(-2.0 * i as f64 / cfg.head_dim() as f64);
            let a = p as f64 * theta;
            cos.push(a.cos() as f32);
            sin.push(a.sin() as f32);
        }
    }
    (cos, sin)
}

/// [`rope_table_values`] for every position, as tensors.
fn rope_tables(cfg: &Config, dev: &Device) -> candle_core::Result<(Tensor, Tensor)> {
    let (n, half) = (cfg.max_position_embeddings, cfg.head_dim() / 2);
    let (cos, sin) = rope_table_values(cfg, n);
    Ok((Tensor::from_vec(cos, (n, half), dev)?, Tensor::from_vec(sin, (n, half), dev)?))
}
