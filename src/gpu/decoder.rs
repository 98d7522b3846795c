//! A whole decoding step of the Llama decoder on the GPU, for a batch of
//! `rows` sequences advancing together (best-of-N samples of one prompt):
//! the same computation as `model::llama::Llama::forward` with a KV cache,
//! kernel by kernel. Weights are uploaded once as f32 (a GGUF model's
//! dequantised weights), q|k|v and gate|up fused into one matrix each; the
//! KV cache and all activations are pre-allocated; a step writes the token
//! ids and the position, submits the pre-built dispatches and reads back the
//! logits `[rows, vocab]`.

use std::collections::HashMap;

use candle_core::Tensor;

use super::kernels::{submit, Kernels, Op, MAX_ATTENTION_LEN, MAX_HEAD_DIM};
use super::Gpu;
use crate::error::{Error, Result};
use crate::model::config::Config;

/// One block's weights on the GPU (q|k|v and gate|up fused).
struct BlockWeights {
    attn_norm: wgpu::Buffer,
    mlp_norm: wgpu::Buffer,
    wqkv: wgpu::Buffer,
    wo: wgpu::Buffer,
    wgu: wgpu::Buffer,
    wdown: wgpu::Buffer,
}

/// A model's weights uploaded once; decoders for any batch size share them.
pub struct GpuModel<'g> {
    gpu: &'g Gpu,
    kernels: &'g Kernels,
    cfg: Config,
    embed: wgpu::Buffer,
    blocks: Vec<BlockWeights>,
    norm: wgpu::Buffer,
    head: wgpu::Buffer,
    /// Rotary tables for `positions` positions.
    cos: wgpu::Buffer,
    sin: wgpu::Buffer,
    positions: usize,
}

pub struct GpuDecoder<'g> {
    gpu: &'g Gpu,
    rows: usize,
    max_len: usize,
    vocab: usize,
    pos: usize,
    ids: wgpu::Buffer,
    step: wgpu::Buffer,
    logits: wgpu::Buffer,
    staging: wgpu::Buffer,
    ops: Vec<Op>,
    /// Kept alive for the bind groups.
    _buffers: Vec<wgpu::Buffer>,
}

fn host(t: &Tensor) -> Result<Vec<f32>> {
    Ok(t.flatten_all()?.to_dtype(candle_core::DType::F32)?.to_vec1::<f32>()?)
}

type Weights = HashMap<String, Tensor>;

fn weight<'m>(m: &'m Weights, name: &str) -> Result<&'m Tensor> {
    m.get(name).ok_or_else(|| Error::Weights(format!("missing weight {name}")))
}

impl<'g> GpuModel<'g> {
    /// Uploads a model: `cfg` and its f32 weights by Hugging Face name (as
    /// `Model::tensors`; a GGUF model's are dequantised), with rotary tables
    /// for up to [`MAX_ATTENTION_LEN`] positions.
    pub fn new(gpu: &'g Gpu, kernels: &'g Kernels, cfg: &Config, model: &Weights) -> Result<Self> {
        let hd = cfg.head_dim();
        if hd > MAX_HEAD_DIM || hd % 2 != 0 {
            return Err(Error::Gpu(format!("the GPU attention kernel handles even head sizes up to {MAX_HEAD_DIM} (this model: {hd})")));
        }
        let up = |name: &str| -> Result<wgpu::Buffer> { gpu.upload(name, &host(weight(model, name)?)?) };
        let embed = up("model.embed_tokens.weight")?;
        let mut blocks = Vec::with_capacity(cfg.num_hidden_layers);
        for i in 0..cfg.num_hidden_layers {
            let p = format!("model.layers.{i}");
            let cat = |names: &[&str]| -> Result<wgpu::Buffer> {
                let parts = names.iter().map(|n| weight(model, &format!("{p}.{n}.weight")).cloned()).collect::<Result<Vec<_>>>()?;
                gpu.upload(names[0], &host(&Tensor::cat(&parts, 0)?)?)
            };
            blocks.push(BlockWeights {
                attn_norm: up(&format!("{p}.input_layernorm.weight"))?,
                mlp_norm: up(&format!("{p}.post_attention_layernorm.weight"))?,
                wqkv: cat(&["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"])?,
                wo: up(&format!("{p}.self_attn.o_proj.weight"))?,
                wgu: cat(&["mlp.gate_proj", "mlp.up_proj"])?,
                wdown: up(&format!("{p}.mlp.down_proj.weight"))?,
            });
        }
        let head = match model.get("lm_head.weight") {
            Some(t) if !cfg.tie_word_embeddings => gpu.upload("lm_head", &host(t)?)?,
            _ => embed.clone(),
        };
        let positions = cfg.max_position_embeddings.min(MAX_ATTENTION_LEN);
        let (cos, sin) = crate::model::llama::rope_table_values(cfg, positions);
        let (cos, sin) = (gpu.upload("cos", &cos)?, gpu.upload("sin", &sin)?);
        let norm = up("model.norm.weight")?;
        gpu.check()?;
        Ok(Self { gpu, kernels, cfg: cfg.clone(), embed, blocks, norm, head, cos, sin, positions })
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Longest sequence (prompt + answer) the GPU path decodes.
    pub fn max_len(&self) -> usize {
        self.positions
    }
}

impl<'g> GpuDecoder<'g> {
    /// Activations, KV cache and the step's dispatches for `rows` sequences
    /// of at most `max_len` tokens.
    pub fn new(m: &GpuModel<'g>, rows: usize, max_len: usize) -> Result<Self> {
        let (gpu, k, cfg) = (m.gpu, m.kernels, &m.cfg);
        let (d, f, v) = (cfg.hidden_size, cfg.intermediate_size, cfg.vocab_size);
        let (h, kvh, hd) = (cfg.num_attention_heads, cfg.kv_heads(), cfg.head_dim());
        if rows == 0 {
            return Err(Error::Param("the GPU decoder needs at least one row".into()));
        }
        let max_len = max_len.min(cfg.max_position_embeddings);
        if max_len > m.positions {
            return Err(Error::Gpu(format!("the GPU attention kernel handles up to {MAX_ATTENTION_LEN} positions (asked {max_len})")));
        }
        let qkv_n = (h + 2 * kvh) * hd;
        let buf = |label: &str, n: usize| gpu.zeros(label, n);
        let (ids, step) = (buf("ids", rows)?, gpu.uniform(&[0, 1, 0, 0]));
        let (x, xn, qkv, att) = (buf("x", rows * d)?, buf("xn", rows * d)?, buf("qkv", rows * qkv_n)?, buf("att", rows * h * hd)?);
        let (gu, act, logits) = (buf("gate_up", rows * 2 * f)?, buf("act", rows * f)?, buf("logits", rows * v)?);
        let eps = cfg.rms_norm_eps as f32;
        let mut ops = vec![k.embed(gpu, &m.embed, &ids, &x, rows, d, v)];
        let mut keep = vec![];
        for b in &m.blocks {
            let (kc, vc) = (buf("k_cache", rows * kvh * max_len * hd)?, buf("v_cache", rows * kvh * max_len * hd)?);
            ops.push(k.rms_norm(gpu, &x, &b.attn_norm, &xn, rows, d, eps));
            ops.push(k.matmul(gpu, &xn, &b.wqkv, &qkv, rows, qkv_n, d, false));
            ops.push(k.rope(gpu, &qkv, &m.cos, &m.sin, &step, rows, h + kvh, hd, qkv_n));
            ops.push(k.kv_store(gpu, &qkv, &kc, &vc, &step, rows, h, kvh, hd, max_len));
            ops.push(k.attention(gpu, &qkv, &kc, &vc, &att, &step, rows, h, kvh, hd, max_len));
            ops.push(k.matmul(gpu, &att, &b.wo, &x, rows, d, h * hd, true));
            ops.push(k.rms_norm(gpu, &x, &b.mlp_norm, &xn, rows, d, eps));
            ops.push(k.matmul(gpu, &xn, &b.wgu, &gu, rows, 2 * f, d, false));
            ops.push(k.swiglu(gpu, &gu, &act, rows, f));
            ops.push(k.matmul(gpu, &act, &b.wdown, &x, rows, d, f, true));
            keep.extend([kc, vc]);
        }
        ops.push(k.rms_norm(gpu, &x, &m.norm, &xn, rows, d, eps));
        ops.push(k.matmul(gpu, &xn, &m.head, &logits, rows, v, d, false));
        gpu.check()?;
        keep.extend([x, xn, qkv, att, gu, act]);
        let staging = gpu.staging(rows * v);
        Ok(Self { gpu, rows, max_len, vocab: v, pos: 0, ids, step, logits, staging, ops, _buffers: keep })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Positions the KV cache holds.
    pub fn capacity(&self) -> usize {
        self.max_len
    }

    /// Tokens fed so far (the next position).
    pub fn len(&self) -> usize {
        self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.pos == 0
    }

    /// Starts new sequences (the cache is overwritten as positions advance).
    pub fn reset(&mut self) {
        self.pos = 0;
    }

    /// Feeds one token per row at the next position and returns the logits,
    /// `rows x vocab`, row-major (blocking; native).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn step(&mut self, ids: &[u32]) -> Result<Vec<f32>> {
        pollster::block_on(self.step_async(ids))
    }

    /// Starts the rows on `prompt` (the same token for every row, one position
    /// per step) and returns the logits after its last token.
    pub async fn prompt_async(&mut self, prompt: &[u32]) -> Result<Vec<f32>> {
        self.reset();
        let mut last = vec![];
        for &t in prompt {
            last = self.step_async(&vec![t; self.rows]).await?;
        }
        Ok(last)
    }

    /// [`GpuDecoder::step`], awaiting the readback (the browser's way).
    pub async fn step_async(&mut self, ids: &[u32]) -> Result<Vec<f32>> {
        if ids.len() != self.rows {
            return Err(Error::Param(format!("{} token ids for {} rows", ids.len(), self.rows)));
        }
        if self.pos >= self.max_len {
            return Err(Error::Gpu(format!("the GPU KV cache holds {} positions", self.max_len)));
        }
        self.gpu.write_u32(&self.ids, ids);
        self.gpu.write_u32(&self.step, &[self.pos as u32, self.pos as u32 + 1, 0, 0]);
        submit(self.gpu, &self.ops, Some((&self.logits, &self.staging, self.rows * self.vocab)));
        let out = self.gpu.read_staging_async(&self.staging, self.rows * self.vocab).await?;
        self.pos += 1;
        Ok(out)
    }
}
