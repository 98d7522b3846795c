//! The WGSL kernels (`shaders/*.wgsl`) as compute pipelines, and [`Op`]: one
//! dispatch with its bind group and its own small uniform of dimensions,
//! built once. A decoding step (or a prefill / scoring pass) is a list of
//! `Op`s encoded into one compute pass; between passes only the token ids,
//! the rows' (slot, position) table and the scoring targets change.

use super::{Gpu, Weight};
use crate::error::{Error, Result};

/// One dispatch, ready to encode.
pub struct Op {
    pipeline: wgpu::ComputePipeline,
    bind: wgpu::BindGroup,
    groups: (u32, u32, u32),
}

/// The thread tile (TM x TM per thread) and K step of the two tiled matmul
/// variants: 64x64 blocks with 4x4 per thread, 128x128 with 8x8.
pub const TILED_VARIANTS: [(u32, u32); 2] = [(4, 16), (8, 8)];

/// Products with at most this many rows use the skinny (weight-streaming)
/// kernel: on an H100 it beat both tiled variants up to 64 rows
/// (64x4096x4096: 5.9 TFLOP/s against 4.7 and 2.4; BENCHMARKS.md).
pub const SKINNY_MAX_ROWS: usize = 64;

/// The longest sequence the attention kernel handles (its scores live in
/// workgroup memory); longer ones fall back to the CPU.
pub const MAX_ATTENTION_LEN: usize = 2048;

/// Largest head size the attention kernel stages.
pub const MAX_HEAD_DIM: usize = 256;

/// The pipelines; weight-reading ones per [`Precision`] (index `p as usize`).
pub struct Kernels {
    tiled: [Vec<wgpu::ComputePipeline>; 2],
    skinny: [wgpu::ComputePipeline; 2],
    /// The skinny kernel with vec4 loads, for K a multiple of 4.
    skinny4: [wgpu::ComputePipeline; 2],
    rms_norm: wgpu::ComputePipeline,
    embed: [wgpu::ComputePipeline; 2],
    rope: wgpu::ComputePipeline,
    kv_store: wgpu::ComputePipeline,
    attention: wgpu::ComputePipeline,
    swiglu: wgpu::ComputePipeline,
    token_logp: wgpu::ComputePipeline,
}

fn pipeline(gpu: &Gpu, name: &str, src: &str) -> Result<wgpu::ComputePipeline> {
    let module = gpu.device.create_shader_module(wgpu::ShaderModuleDescriptor { label: Some(name), source: wgpu::ShaderSource::Wgsl(src.into()) });
    finish_pipeline(gpu, name, module)
}

/// A kernel that checks every index itself (`matmul_wgsl`), compiled
/// without wgpu's injected bounds checks (they cost several times over in
/// the inner loops).
fn pipeline_unchecked(gpu: &Gpu, name: &str, src: &str) -> Result<wgpu::ComputePipeline> {
    let desc = wgpu::ShaderModuleDescriptor { label: Some(name), source: wgpu::ShaderSource::Wgsl(src.into()) };
    // SAFETY: the generated matmul kernels guard every buffer index by the
    // dimensions in their uniform, which `Kernels` sets from the sizes the
    // buffers were created with (tests/suite/gpu.rs runs them on awkward sizes).
    let module = unsafe { gpu.device.create_shader_module_trusted(desc, wgpu::ShaderRuntimeChecks::unchecked()) };
    finish_pipeline(gpu, name, module)
}

fn finish_pipeline(gpu: &Gpu, name: &str, module: wgpu::ShaderModule) -> Result<wgpu::ComputePipeline> {
    let p = gpu.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(name),
        layout: None,
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    });
    gpu.check().map_err(|e| Error::Gpu(format!("kernel {name}: {e}")))?;
    Ok(p)
}

/// Workgroups for `n` threads of 256, split over x and y (65535 per dimension).
fn grid(n: usize) -> (u32, u32, u32) {
    let g = n.div_ceil(256).max(1) as u32;
    if g <= 65535 {
        (g, 1, 1)
    } else {
        (65535, g.div_ceil(65535), 1)
    }
}

impl Kernels {
    pub fn new(gpu: &Gpu) -> Result<Self> {
        use super::matmul_wgsl::{skinny, tiled};
        let tiled_all = |half: bool| {
            TILED_VARIANTS.iter().map(|&(tm, bk)| pipeline_unchecked(gpu, "matmul_tiled", &tiled(tm as usize, bk as usize, half))).collect::<Result<Vec<_>>>()
        };
        let embed = include_str!("shaders/embed.wgsl");
        let embed_half = embed
            .replace("var<storage, read> table: array<f32>;", "var<storage, read> table: array<u32>;")
            .replace("y[i] = table[id * d.n + i % d.n];", "let e = id * d.n + i % d.n;\n    y[i] = unpack2x16float(table[e >> 1u])[e & 1u];");
        Ok(Self {
            tiled: [tiled_all(false)?, tiled_all(true)?],
            skinny: [pipeline_unchecked(gpu, "matmul_skinny", &skinny(false, false))?, pipeline_unchecked(gpu, "matmul_skinny_f16", &skinny(false, true))?],
            skinny4: [pipeline_unchecked(gpu, "matmul_skinny_vec4", &skinny(true, false))?, pipeline_unchecked(gpu, "matmul_skinny_vec4_f16", &skinny(true, true))?],
            rms_norm: pipeline(gpu, "rms_norm", include_str!("shaders/rms_norm.wgsl"))?,
            embed: [pipeline(gpu, "embed", embed)?, pipeline(gpu, "embed_f16", &embed_half)?],
            rope: pipeline(gpu, "rope", include_str!("shaders/rope.wgsl"))?,
            kv_store: pipeline(gpu, "kv_store", include_str!("shaders/kv_store.wgsl"))?,
            attention: pipeline(gpu, "attention", include_str!("shaders/attention.wgsl"))?,
            swiglu: pipeline(gpu, "swiglu", include_str!("shaders/swiglu.wgsl"))?,
            token_logp: pipeline(gpu, "token_logp", include_str!("shaders/token_logp.wgsl"))?,
        })
    }

    fn op(gpu: &Gpu, pipeline: &wgpu::ComputePipeline, buffers: &[&wgpu::Buffer], groups: (u32, u32, u32)) -> Op {
        let layout = pipeline.get_bind_group_layout(0);
        let entries: Vec<wgpu::BindGroupEntry> =
            buffers.iter().enumerate().map(|(i, b)| wgpu::BindGroupEntry { binding: i as u32, resource: b.as_entire_binding() }).collect();
        let bind = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor { label: None, layout: &layout, entries: &entries });
        Op { pipeline: pipeline.clone(), bind, groups }
    }

    /// `y[m, n] (+)= x[m, k] w[n, k]^T` (`w` f32 or packed f16); skinny kernel up to
    /// [`SKINNY_MAX_ROWS`] rows, tiled above: 64x64 blocks below 1024 rows,
    /// 128x128 from 1024 (faster from 2048^3 on an H100; BENCHMARKS.md).
    #[allow(clippy::too_many_arguments)]
    pub fn matmul(&self, gpu: &Gpu, x: &wgpu::Buffer, w: &Weight, y: &wgpu::Buffer, m: usize, n: usize, k: usize, accumulate: bool) -> Op {
        if m <= SKINNY_MAX_ROWS {
            self.matmul_skinny(gpu, x, w, y, m, n, k, accumulate)
        } else {
            self.matmul_tiled(gpu, usize::from(m >= 1024), x, w, y, m, n, k, accumulate)
        }
    }

    /// The tiled kernel, variant `v` of [`TILED_VARIANTS`] (benchmarks).
    #[allow(clippy::too_many_arguments)]
    pub fn matmul_tiled(&self, gpu: &Gpu, v: usize, x: &wgpu::Buffer, w: &Weight, y: &wgpu::Buffer, m: usize, n: usize, k: usize, accumulate: bool) -> Op {
        let dims = gpu.uniform(&[m as u32, n as u32, k as u32, accumulate as u32]);
        let block = 16 * TILED_VARIANTS[v].0 as usize;
        Self::op(gpu, &self.tiled[w.precision as usize][v], &[x, &w.buf, y, &dims], (n.div_ceil(block) as u32, m.div_ceil(block) as u32, 1))
    }

    /// The skinny kernel for any row count (vec4 loads when `k % 4 == 0`).
    #[allow(clippy::too_many_arguments)]
    pub fn matmul_skinny(&self, gpu: &Gpu, x: &wgpu::Buffer, w: &Weight, y: &wgpu::Buffer, m: usize, n: usize, k: usize, accumulate: bool) -> Op {
        let dims = gpu.uniform(&[m as u32, n as u32, k as u32, accumulate as u32]);
        let (gx, gy) = if n <= 65535 { (n as u32, 1) } else { (65535, n.div_ceil(65535) as u32) };
        let p = if k.is_multiple_of(4) { &self.skinny4 } else { &self.skinny };
        Self::op(gpu, &p[w.precision as usize], &[x, &w.buf, y, &dims], (gx, gy, m.div_ceil(8) as u32))
    }

    #[allow(clippy::too_many_arguments)]
    pub fn rms_norm(&self, gpu: &Gpu, x: &wgpu::Buffer, w: &wgpu::Buffer, y: &wgpu::Buffer, rows: usize, n: usize, eps: f32) -> Op {
        let dims = gpu.uniform(&[rows as u32, n as u32, eps.to_bits()]);
        Self::op(gpu, &self.rms_norm, &[x, w, y, &dims], (rows as u32, 1, 1))
    }

    #[allow(clippy::too_many_arguments)]
    pub fn embed(&self, gpu: &Gpu, table: &Weight, ids: &wgpu::Buffer, y: &wgpu::Buffer, rows: usize, n: usize, vocab: usize) -> Op {
        let dims = gpu.uniform(&[rows as u32, n as u32, vocab as u32]);
        Self::op(gpu, &self.embed[table.precision as usize], &[&table.buf, ids, y, &dims], grid(rows * n))
    }

    /// Rotary positions on the first `heads` heads of each row (row stride
    /// `stride` floats), at each row's position in `info` (`[slot, position,
    /// shared, prefix slot]` per row, as u32; kv_store.wgsl).
    #[allow(clippy::too_many_arguments)]
    pub fn rope(&self, gpu: &Gpu, qkv: &wgpu::Buffer, cos: &wgpu::Buffer, sin: &wgpu::Buffer, info: &wgpu::Buffer, rows: usize, heads: usize, hd: usize, stride: usize) -> Op {
        let dims = gpu.uniform(&[rows as u32, heads as u32, hd as u32, stride as u32]);
        Self::op(gpu, &self.rope, &[qkv, cos, sin, &dims, info], grid(rows * heads * hd / 2))
    }

    #[allow(clippy::too_many_arguments)]
    pub fn kv_store(&self, gpu: &Gpu, qkv: &wgpu::Buffer, kc: &wgpu::Buffer, vc: &wgpu::Buffer, info: &wgpu::Buffer, rows: usize, q_heads: usize, kv_heads: usize, hd: usize, max_len: usize) -> Op {
        let dims = gpu.uniform(&[rows as u32, kv_heads as u32, hd as u32, q_heads as u32, max_len as u32]);
        Self::op(gpu, &self.kv_store, &[qkv, kc, vc, &dims, info], grid(rows * kv_heads * hd))
    }

    #[allow(clippy::too_many_arguments)]
    pub fn attention(
        &self,
        gpu: &Gpu,
        qkv: &wgpu::Buffer,
        kc: &wgpu::Buffer,
        vc: &wgpu::Buffer,
        y: &wgpu::Buffer,
        info: &wgpu::Buffer,
        rows: usize,
        q_heads: usize,
        kv_heads: usize,
        hd: usize,
        max_len: usize,
    ) -> Op {
        let scale = (1.0 / (hd as f64).sqrt()) as f32;
        let dims = gpu.uniform(&[rows as u32, q_heads as u32, kv_heads as u32, hd as u32, max_len as u32, scale.to_bits()]);
        Self::op(gpu, &self.attention, &[qkv, kc, vc, y, &dims, info], (q_heads as u32, rows as u32, 1))
    }

    pub fn swiglu(&self, gpu: &Gpu, gu: &wgpu::Buffer, y: &wgpu::Buffer, rows: usize, n: usize) -> Op {
        let dims = gpu.uniform(&[rows as u32, n as u32]);
        Self::op(gpu, &self.swiglu, &[gu, y, &dims], grid(rows * n))
    }

    /// `y[r] = log_softmax(x[r])[target[r]]` for `rows` rows of `n` logits.
    pub fn token_logp(&self, gpu: &Gpu, x: &wgpu::Buffer, target: &wgpu::Buffer, y: &wgpu::Buffer, rows: usize, n: usize) -> Op {
        let dims = gpu.uniform(&[rows as u32, n as u32]);
        Self::op(gpu, &self.token_logp, &[x, target, y, &dims], (rows as u32, 1, 1))
    }
}

/// What a submission copies back: `floats` values of `src` from float
/// `offset` into the start of `staging`.
pub struct Readback<'a> {
    pub src: &'a wgpu::Buffer,
    pub offset: usize,
    pub floats: usize,
    pub staging: &'a wgpu::Buffer,
}

/// Encodes `ops` into one compute pass and, when given, the readback copy;
/// submits.
pub fn submit(gpu: &Gpu, ops: &[Op], copy: Option<Readback>) {
    let mut enc = gpu.device.create_command_encoder(&Default::default());
    {
        let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor { label: None, timestamp_writes: None });
        for op in ops {
            pass.set_pipeline(&op.pipeline);
            pass.set_bind_group(0, &op.bind, &[]);
            pass.dispatch_workgroups(op.groups.0, op.groups.1, op.groups.2);
        }
    }
    if let Some(r) = copy {
        enc.copy_buffer_to_buffer(r.src, r.offset as u64 * 4, r.staging, 0, r.floats as u64 * 4);
    }
    gpu.queue.submit([enc.finish()]);
}

/// Runs `ops` and waits for them (tests, benchmarks).
#[cfg(not(target_arch = "wasm32"))]
pub fn run(gpu: &Gpu, ops: &[Op]) -> Result<()> {
    submit(gpu, ops, None);
    gpu.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| Error::Gpu(format!("waiting for the GPU: {e}")))?;
    gpu.check()
}
