//! The Llama decoder's forward pass on the GPU: the same computation as
//! `model::llama::Llama::forward` with a KV cache, kernel by kernel. Weights
//! are uploaded once as f32 (a GGUF model's dequantised weights), q|k|v and
//! gate|up fused into one matrix each; the KV cache and all activations are
//! pre-allocated. A decoding step (one token for each of `seqs` sequences,
//! e.g. best-of-N samples of one prompt) writes the token ids and the rows'
//! positions, submits the pre-built dispatches and reads back the logits;
//! a prefill or scoring pass feeds up to 64 positions at once and reads
//! back one row of logits or the targets' log-probabilities.

use std::collections::HashMap;

use candle_core::Tensor;

use super::kernels::{submit, Kernels, Op, Readback, MAX_ATTENTION_LEN, MAX_HEAD_DIM};
use super::plan::{self, Row, PASS_ROWS, PASS_WIDTHS};
use super::{Gpu, Precision, Weight};
use crate::error::{Error, Result};
use crate::model::config::Config;
use crate::model::names::{self, Projection};
use crate::score::Scored;

/// One block's weights on the GPU (q|k|v and gate|up fused).
struct BlockWeights {
    attn_norm: wgpu::Buffer,
    mlp_norm: wgpu::Buffer,
    wqkv: Weight,
    wo: Weight,
    wgu: Weight,
    wdown: Weight,
}

/// A model's weights uploaded once; decoders for any batch size share them.
pub struct GpuModel<'g> {
    gpu: &'g Gpu,
    kernels: &'g Kernels,
    cfg: Config,
    precision: Precision,
    embed: Weight,
    blocks: Vec<BlockWeights>,
    norm: wgpu::Buffer,
    head: Weight,
    /// Rotary tables for `positions` positions.
    cos: wgpu::Buffer,
    sin: wgpu::Buffer,
    positions: usize,
}

/// Activations, KV cache and pre-built dispatches for `seqs` sequences.
/// Decoding steps feed one token per sequence; prefill and scoring passes
/// feed up to [`PASS_ROWS`] tokens of one or more sequences at once
/// (`plan`), the prompt of a batch once for all its sequences.
pub struct GpuDecoder<'g> {
    gpu: &'g Gpu,
    seqs: usize,
    max_len: usize,
    vocab: usize,
    /// The next decoding position, and the prompt's length (positions the
    /// sequences read from slot 0).
    pos: usize,
    prompt_len: usize,
    ids: wgpu::Buffer,
    info: wgpu::Buffer,
    targets: wgpu::Buffer,
    logits: wgpu::Buffer,
    logps: wgpu::Buffer,
    staging: wgpu::Buffer,
    step_ops: Vec<Op>,
    /// A pass's dispatches at each width of [`PASS_WIDTHS`]: a pass of `r`
    /// rows runs the narrowest that holds them.
    pass_ops: Vec<(usize, Vec<Op>)>,
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
    /// `Model::tensors`; a GGUF model's are dequantised), matrices and the
    /// embedding table stored in `precision` (norms and rotary tables f32),
    /// with rotary tables for up to [`MAX_ATTENTION_LEN`] positions.
    pub fn new(gpu: &'g Gpu, kernels: &'g Kernels, cfg: &Config, model: &Weights, precision: Precision) -> Result<Self> {
        let hd = cfg.head_dim();
        if hd > MAX_HEAD_DIM || !hd.is_multiple_of(2) {
            return Err(Error::Gpu(format!("the GPU attention kernel handles even head sizes up to {MAX_HEAD_DIM} (this model: {hd})")));
        }
        let up = |name: &str| -> Result<wgpu::Buffer> { gpu.upload(name, &host(weight(model, name)?)?) };
        let mat = |name: &str| -> Result<Weight> { gpu.upload_weight(name, &host(weight(model, name)?)?, precision) };
        let embed = mat(names::EMBED)?;
        let mut blocks = Vec::with_capacity(cfg.num_hidden_layers);
        for i in 0..cfg.num_hidden_layers {
            let cat = |ps: &[Projection]| -> Result<Weight> {
                let parts = ps.iter().map(|&p| weight(model, &names::projection(i, p)).cloned()).collect::<Result<Vec<_>>>()?;
                gpu.upload_weight(ps[0].hf(), &host(&Tensor::cat(&parts, 0)?)?, precision)
            };
            blocks.push(BlockWeights {
                attn_norm: up(&names::norm(i, names::ATTN_NORM))?,
                mlp_norm: up(&names::norm(i, names::MLP_NORM))?,
                wqkv: cat(&[Projection::Q, Projection::K, Projection::V])?,
                wo: mat(&names::projection(i, Projection::O))?,
                wgu: cat(&[Projection::Gate, Projection::Up])?,
                wdown: mat(&names::projection(i, Projection::Down))?,
            });
        }
        let head = match model.get(names::LM_HEAD) {
            Some(t) if !cfg.tie_word_embeddings => gpu.upload_weight("lm_head", &host(t)?, precision)?,
            _ => embed.clone(),
        };
        let positions = cfg.max_position_embeddings.min(MAX_ATTENTION_LEN);
        let (cos, sin) = crate::model::llama::rope_table_values(cfg, positions);
        let (cos, sin) = (gpu.upload("cos", &cos)?, gpu.upload("sin", &sin)?);
        let norm = up(names::FINAL_NORM)?;
        gpu.check()?;
        Ok(Self { gpu, kernels, cfg: cfg.clone(), precision, embed, blocks, norm, head, cos, sin, positions })
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The weight storage for `cfg` on `gpu`: f32 when its largest matrix
    /// (embedding / output head, fused q|k|v or gate|up, down) fits one of
    /// the adapter's buffers, else f16 when that fits (browsers often allow
    /// 128-256 MB per buffer), else None.
    pub fn precision_for(gpu: &Gpu, cfg: &Config) -> Option<Precision> {
        let (d, f, v) = (cfg.hidden_size as u64, cfg.intermediate_size as u64, cfg.vocab_size as u64);
        let qkv = ((cfg.num_attention_heads + 2 * cfg.kv_heads()) * cfg.head_dim()) as u64;
        let largest = [v * d, qkv * d, 2 * f * d, d * f].into_iter().max().unwrap_or(0);
        [Precision::F32, Precision::F16].into_iter().find(|p| largest * if *p == Precision::F32 { 4 } else { 2 } <= gpu.info.max_buffer_bytes)
    }

    /// How the weight matrices are stored.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// Longest sequence (prompt + answer) the GPU path decodes.
    pub fn max_len(&self) -> usize {
        self.positions
    }
}

impl<'g> GpuDecoder<'g> {
    /// Activations, KV cache and dispatches for `seqs` sequences of at most
    /// `max_len` tokens.
    pub fn new(m: &GpuModel<'g>, seqs: usize, max_len: usize) -> Result<Self> {
        let (gpu, cfg) = (m.gpu, &m.cfg);
        let (d, f, v) = (cfg.hidden_size, cfg.intermediate_size, cfg.vocab_size);
        let (h, kvh, hd) = (cfg.num_attention_heads, cfg.kv_heads(), cfg.head_dim());
        if seqs == 0 {
            return Err(Error::Param("the GPU decoder needs at least one row".into()));
        }
        let max_len = max_len.min(cfg.max_position_embeddings);
        if max_len > m.positions {
            return Err(Error::Gpu(format!("the GPU attention kernel handles up to {MAX_ATTENTION_LEN} positions (asked {max_len})")));
        }
        let cap = seqs.max(PASS_ROWS);
        let qkv_n = (h + 2 * kvh) * hd;
        let buf = |label: &str, n: usize| gpu.zeros(label, n);
        let (ids, info, targets, logps) = (buf("ids", cap)?, buf("rows", 4 * cap)?, buf("targets", cap)?, buf("logps", cap)?);
        let a = Activations {
            x: buf("x", cap * d)?,
            xn: buf("xn", cap * d)?,
            qkv: buf("qkv", cap * qkv_n)?,
            att: buf("att", cap * h * hd)?,
            gu: buf("gate_up", cap * 2 * f)?,
            act: buf("act", cap * f)?,
            logits: buf("logits", cap * v)?,
            cache: (0..cfg.num_hidden_layers)
                .map(|_| Ok((buf("k_cache", seqs * kvh * max_len * hd)?, buf("v_cache", seqs * kvh * max_len * hd)?)))
                .collect::<Result<Vec<_>>>()?,
        };
        let step_ops = m.forward_ops(&a, &ids, &info, seqs, max_len);
        let pass_ops = PASS_WIDTHS
            .iter()
            .map(|&w| {
                let mut ops = m.forward_ops(&a, &ids, &info, w, max_len);
                ops.push(m.kernels.token_logp(gpu, &a.logits, &targets, &logps, w, v));
                (w, ops)
            })
            .collect();
        gpu.check()?;
        let staging = gpu.staging((seqs * v).max(v).max(PASS_ROWS));
        let logits = a.logits.clone();
        let mut keep = vec![a.x, a.xn, a.qkv, a.att, a.gu, a.act];
        keep.extend(a.cache.into_iter().flat_map(|(k, v)| [k, v]));
        Ok(Self { gpu, seqs, max_len, vocab: v, pos: 0, prompt_len: 0, ids, info, targets, logits, logps, staging, step_ops, pass_ops, _buffers: keep })
    }

    pub fn rows(&self) -> usize {
        self.seqs
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
        (self.pos, self.prompt_len) = (0, 0);
    }

    /// Feeds one token per row at the next position and returns the logits,
    /// `rows x vocab`, row-major (blocking; native).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn step(&mut self, ids: &[u32]) -> Result<Vec<f32>> {
        pollster::block_on(self.step_async(ids))
    }

    /// Starts every row on `prompt`: the prompt is fed once, [`PASS_ROWS`]
    /// positions per pass, into slot 0, which the rows then share; returns
    /// the logits after its last token, once per row.
    pub async fn prompt_async(&mut self, prompt: &[u32]) -> Result<Vec<f32>> {
        self.reset();
        let passes = plan::prefill_passes(prompt, self.max_len)?;
        let mut last = vec![];
        for (i, rows) in passes.iter().enumerate() {
            if i + 1 < passes.len() {
                self.pass(rows, None);
            } else {
                let offset = (rows.len() - 1) * self.vocab;
                self.pass(rows, Some(Readback { src: &self.logits, offset, floats: self.vocab, staging: &self.staging }));
                last = self.gpu.read_staging_async(&self.staging, self.vocab).await?;
            }
        }
        (self.pos, self.prompt_len) = (prompt.len(), prompt.len());
        Ok(last.repeat(self.seqs))
    }

    /// [`GpuDecoder::step`], awaiting the readback (the browser's way).
    pub async fn step_async(&mut self, ids: &[u32]) -> Result<Vec<f32>> {
        if ids.len() != self.seqs {
            return Err(Error::Param(format!("{} token ids for {} rows", ids.len(), self.seqs)));
        }
        if self.pos >= self.max_len {
            return Err(Error::Gpu(format!("the GPU KV cache holds {} positions", self.max_len)));
        }
        let (pos, shared) = (self.pos as u32, self.prompt_len as u32);
        let info: Vec<u32> = (0..self.seqs as u32).flat_map(|r| [r, pos, shared, 0]).collect();
        self.gpu.write_u32(&self.ids, ids);
        self.gpu.write_u32(&self.info, &info);
        let floats = self.seqs * self.vocab;
        submit(self.gpu, &self.step_ops, Some(Readback { src: &self.logits, offset: 0, floats, staging: &self.staging }));
        let out = self.gpu.read_staging_async(&self.staging, floats).await?;
        self.pos += 1;
        Ok(out)
    }

    /// `log pi(y_t | x, y_<t)` of every continuation token of `items`
    /// (`score::token_logps` on the GPU): passes of up to [`PASS_ROWS`]
    /// positions, a prompt shared by consecutive items fed once. Ends any
    /// decoding in progress.
    pub async fn token_logps_async(&mut self, items: &[Scored<'_>]) -> Result<Vec<Vec<f64>>> {
        self.reset();
        let mut out: Vec<Vec<f64>> = items.iter().map(|it| vec![0.0; it.continuation.len()]).collect();
        for rows in plan::scoring_passes(items, self.seqs, self.max_len)? {
            self.pass(&rows, Some(Readback { src: &self.logps, offset: 0, floats: rows.len(), staging: &self.staging }));
            let lp = self.gpu.read_staging_async(&self.staging, rows.len()).await?;
            for (row, v) in rows.iter().zip(lp) {
                if let Some((i, k)) = row.out {
                    out[i][k] = v as f64;
                }
            }
        }
        Ok(out)
    }

    /// [`GpuDecoder::token_logps_async`], blocking (native).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn token_logps(&mut self, items: &[Scored<'_>]) -> Result<Vec<Vec<f64>>> {
        pollster::block_on(self.token_logps_async(items))
    }

    /// Submits one pass over `rows` (at most [`PASS_ROWS`]) at the narrowest
    /// width of [`PASS_WIDTHS`] that holds them; the rest of the pass
    /// repeats the last row, which rewrites the same cache entry.
    fn pass(&self, rows: &[Row], read: Option<Readback>) {
        let last = *rows.last().expect("a pass has rows");
        let (width, ops) = self.pass_ops.iter().find(|(w, _)| *w >= rows.len()).expect("a pass has at most PASS_ROWS rows");
        let padded = || rows.iter().copied().chain(std::iter::repeat(last)).take(*width);
        self.gpu.write_u32(&self.ids, &padded().map(|r| r.token).collect::<Vec<_>>());
        self.gpu.write_u32(&self.info, &padded().flat_map(|r| r.info()).collect::<Vec<_>>());
        self.gpu.write_u32(&self.targets, &padded().map(|r| r.target).collect::<Vec<_>>());
        submit(self.gpu, ops, read);
    }
}

/// A decoder's activation buffers (room for its widest pass) and per-layer
/// KV caches.
struct Activations {
    x: wgpu::Buffer,
    xn: wgpu::Buffer,
    qkv: wgpu::Buffer,
    att: wgpu::Buffer,
    gu: wgpu::Buffer,
    act: wgpu::Buffer,
    logits: wgpu::Buffer,
    cache: Vec<(wgpu::Buffer, wgpu::Buffer)>,
}

impl GpuModel<'_> {
    /// The dispatches of one forward pass over `rows` rows of `a` (token ids
    /// in `ids`, rows' slots and positions in `info`), ending in the logits.
    fn forward_ops(&self, a: &Activations, ids: &wgpu::Buffer, info: &wgpu::Buffer, rows: usize, max_len: usize) -> Vec<Op> {
        let (gpu, k, cfg) = (self.gpu, self.kernels, &self.cfg);
        let (d, f, v) = (cfg.hidden_size, cfg.intermediate_size, cfg.vocab_size);
        let (h, kvh, hd) = (cfg.num_attention_heads, cfg.kv_heads(), cfg.head_dim());
        let (qkv_n, eps) = ((h + 2 * kvh) * hd, cfg.rms_norm_eps as f32);
        let mut ops = vec![k.embed(gpu, &self.embed, ids, &a.x, rows, d, v)];
        for (b, (kc, vc)) in self.blocks.iter().zip(&a.cache) {
            ops.push(k.rms_norm(gpu, &a.x, &b.attn_norm, &a.xn, rows, d, eps));
            ops.push(k.matmul(gpu, &a.xn, &b.wqkv, &a.qkv, rows, qkv_n, d, false));
            ops.push(k.rope(gpu, &a.qkv, &self.cos, &self.sin, info, rows, h + kvh, hd, qkv_n));
            ops.push(k.kv_store(gpu, &a.qkv, kc, vc, info, rows, h, kvh, hd, max_len));
            ops.push(k.attention(gpu, &a.qkv, kc, vc, &a.att, info, rows, h, kvh, hd, max_len));
            ops.push(k.matmul(gpu, &a.att, &b.wo, &a.x, rows, d, h * hd, true));
            ops.push(k.rms_norm(gpu, &a.x, &b.mlp_norm, &a.xn, rows, d, eps));
            ops.push(k.matmul(gpu, &a.xn, &b.wgu, &a.gu, rows, 2 * f, d, false));
            ops.push(k.swiglu(gpu, &a.gu, &a.act, rows, f));
            ops.push(k.matmul(gpu, &a.act, &b.wdown, &a.x, rows, d, f, true));
        }
        ops.push(k.rms_norm(gpu, &a.x, &self.norm, &a.xn, rows, d, eps));
        ops.push(k.matmul(gpu, &a.xn, &self.head, &a.logits, rows, v, d, false));
        ops
    }
}
