//! The decoding forward pass of a quantised model (prefill and sampling
//! steps, i.e. every `forward` with a KV cache), computed so that every
//! platform gets the same bits: the projections through the 8-bit kernels of
//! `model::q8` (exact integer sums, f32 steps in a fixed order), and RMSNorm,
//! rotary positions, attention and SiLU as plain sequential f32 loops with our
//! own `exp` ([`exp`]: IEEE operations only, no libm). candle's f32 kernels
//! differ between x86-64 (fused multiply-add, 8-lane sums) and wasm (4-lane
//! sums, another libm) in the last bits, and quantising activations turns
//! such differences into different tokens now and then; here the page and
//! the CLI sample the same answers.
//!
//! The arithmetic is the model's (Touvron et al. 2023): RMSNorm
//! `x / sqrt(mean(x^2) + eps) * w`, RoPE on halves of each head (`rotate_half`,
//! as `candle_nn::rotary_emb::rope`), causal softmax attention with grouped
//! K/V heads, SwiGLU `down(silu(gate x) * up x)`.

use candle_core::Tensor;

use super::{Llama, Proj};
use crate::error::{Error, Result};
use crate::model::cache::KvCache;
use crate::model::q8::Q8Matrix;

/// `e^x` in f32 from IEEE f64 operations only (range reduction by ln 2,
/// then the Taylor polynomial of degree 9 on |r| <= ln2 / 2: relative error
/// below 1e-10, under 0.002 of an f32 step, before the final rounding), so
/// every platform computes the same value.
pub fn exp(x: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    if x < -104.0 {
        return 0.0;
    }
    if x > 89.0 {
        return f32::INFINITY;
    }
    const LN2_HI: f64 = 0.693_147_180_369_123_8; // ln 2 rounded to 32 bits
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10; // ln 2 - LN2_HI
    const C: [f64; 10] = [1.0, 1.0, 1.0 / 2.0, 1.0 / 6.0, 1.0 / 24.0, 1.0 / 120.0, 1.0 / 720.0, 1.0 / 5040.0, 1.0 / 40320.0, 1.0 / 362880.0];
    let x = x as f64;
    let k = (x * std::f64::consts::LOG2_E + 0.5).floor();
    let r = (x - k * LN2_HI) - k * LN2_LO;
    let mut p = C[9];
    for &c in C[..9].iter().rev() {
        p = c + p * r;
    }
    // 2^k for k in -151..=129, as a product of two powers inside the f64 range.
    let half = (k / 2.0).floor();
    let pow = |e: f64| f64::from_bits(((e as i64 + 1023) as u64) << 52);
    (p * pow(half) * pow(k - half)) as f32
}

/// `sum_i a_i b_i` in a fixed order: eight running sums (element `i` into
/// sum `i % 8`), then a fixed tree. The same bits everywhere, and compilers
/// may map the eight sums onto SIMD lanes without changing them.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut s = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            s[l] += x[l] * y[l];
        }
    }
    for (l, (x, y)) in ra.iter().zip(rb).enumerate() {
        s[l] += x * y;
    }
    ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
}

fn silu(x: f32) -> f32 {
    x / (1.0 + exp(-x))
}

/// RMSNorm of each row of `x` (rows of `w.len()`).
fn rms_norm(x: &[f32], w: &[f32], eps: f32) -> Vec<f32> {
    let d = w.len();
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks_exact(d) {
        let r = 1.0 / (dot(row, row) / d as f32 + eps).sqrt();
        out.extend(row.iter().zip(w).map(|(&v, &w)| v * r * w));
    }
    out
}

/// Rotates each head of `x` (`[batch, t, heads, hd]`) for positions
/// `offset..offset + t`; `cos`/`sin` are `[t, hd / 2]` for those positions.
fn rope(x: &mut [f32], t: usize, heads: usize, hd: usize, cos: &[f32], sin: &[f32]) {
    let half = hd / 2;
    for (n, head) in x.chunks_exact_mut(hd).enumerate() {
        let ti = n / heads % t;
        let (c, s) = (&cos[ti * half..(ti + 1) * half], &sin[ti * half..(ti + 1) * half]);
        let (a, b) = head.split_at_mut(half);
        for i in 0..half {
            let (x1, x2) = (a[i], b[i]);
            a[i] = x1 * c[i] - x2 * s[i];
            b[i] = x2 * c[i] + x1 * s[i];
        }
    }
}

/// Causal attention for `q` `[batch, t, heads, hd]` against the cached keys
/// and values `[batch, kv_heads, s, hd]` (`s = offset + t`); query head `h`
/// reads K/V head `h / (heads / kv_heads)`. Returns `[batch, t, heads * hd]`.
#[allow(clippy::too_many_arguments)]
fn attention(q: &[f32], k: &[f32], v: &[f32], (b, t, s): (usize, usize, usize), heads: usize, kv_heads: usize, hd: usize) -> Vec<f32> {
    let offset = s - t;
    let scale = 1.0 / (hd as f32).sqrt();
    let mut out = vec![0f32; b * t * heads * hd];
    let mut w = vec![0f32; s];
    for bi in 0..b {
        for ti in 0..t {
            let seen = offset + ti + 1;
            for h in 0..heads {
                let g = h / (heads / kv_heads);
                let qv = &q[((bi * t + ti) * heads + h) * hd..][..hd];
                let kv = (bi * kv_heads + g) * s * hd;
                let mut max = f32::NEG_INFINITY;
                for (j, wj) in w.iter_mut().enumerate().take(seen) {
                    *wj = dot(qv, &k[kv + j * hd..][..hd]) * scale;
                    max = max.max(*wj);
                }
                let mut sum = 0f32;
                for wj in w.iter_mut().take(seen) {
                    *wj = exp(*wj - max);
                    sum += *wj;
                }
                let o = &mut out[((bi * t + ti) * heads + h) * hd..][..hd];
                for (j, &wj) in w.iter().enumerate().take(seen) {
                    for (o, &vj) in o.iter_mut().zip(&v[kv + j * hd..][..hd]) {
                        *o += wj * vj;
                    }
                }
                for o in o.iter_mut() {
                    *o /= sum;
                }
            }
        }
    }
    out
}

/// Appends `[batch, t, kv_heads, hd]` keys or values to a cache slot
/// (`[batch, kv_heads, s, hd]`) and returns the whole slot's values.
fn append(slot: &mut Option<Tensor>, new: Vec<f32>, (b, t, kvh, hd): (usize, usize, usize, usize)) -> Result<Vec<f32>> {
    let new = Tensor::from_vec(new, (b, t, kvh, hd), &candle_core::Device::Cpu)?.transpose(1, 2)?.contiguous()?;
    let all = match slot.as_ref() {
        Some(prev) => Tensor::cat(&[prev, &new], 2)?,
        None => new,
    };
    let values = all.flatten_all()?.to_vec1::<f32>()?;
    *slot = Some(all);
    Ok(values)
}

impl Llama {
    /// Logits `[batch, t, vocab]` for `ids` continuing the cached sequences,
    /// on the quantised weights (see the module doc); extends the cache.
    pub(super) fn forward_q8(&self, ids: &Tensor, cache: &mut KvCache) -> Result<Tensor> {
        let (b, t) = ids.dims2()?;
        let offset = cache.len();
        let cfg = &self.cfg;
        let (heads, kvh, hd, eps) = (cfg.num_attention_heads, cfg.kv_heads(), cfg.head_dim(), cfg.rms_norm_eps as f32);
        let rows = b * t;
        let vec = |t: &Tensor| -> Result<Vec<f32>> { Ok(t.flatten_all()?.to_vec1::<f32>()?) };
        let mut x = vec(&self.embed.index_select(&ids.flatten_all()?, 0)?)?;
        let (cos, sin) = (vec(&self.cos.narrow(0, offset, t)?)?, vec(&self.sin.narrow(0, offset, t)?)?);
        for (i, blk) in self.blocks.iter().enumerate() {
            let h = rms_norm(&x, &vec(&blk.attn_norm)?, eps);
            let mut q = project(&blk.proj[0], &h, rows)?;
            let mut k = project(&blk.proj[1], &h, rows)?;
            let v = project(&blk.proj[2], &h, rows)?;
            rope(&mut q, t, heads, hd, &cos, &sin);
            rope(&mut k, t, kvh, hd, &cos, &sin);
            let slot = cache.layer_mut(i);
            let k = append(&mut slot.0, k, (b, t, kvh, hd))?;
            let v = append(&mut slot.1, v, (b, t, kvh, hd))?;
            let a = attention(&q, &k, &v, (b, t, offset + t), heads, kvh, hd);
            for (x, o) in x.iter_mut().zip(project(&blk.proj[3], &a, rows)?) {
                *x += o;
            }
            let h = rms_norm(&x, &vec(&blk.mlp_norm)?, eps);
            let up = project(&blk.proj[5], &h, rows)?;
            let m: Vec<f32> = project(&blk.proj[4], &h, rows)?.into_iter().zip(up).map(|(g, u)| silu(g) * u).collect();
            for (x, o) in x.iter_mut().zip(project(&blk.proj[6], &m, rows)?) {
                *x += o;
            }
        }
        cache.advance(t);
        let h = rms_norm(&x, &vec(&self.norm)?, eps);
        let logits = project(&self.lm_head, &h, rows)?;
        Ok(Tensor::from_vec(logits, (b, t, cfg.vocab_size), ids.device())?)
    }

    /// True when every projection and the output head have 8-bit copies, so
    /// decoding can take [`Llama::forward_q8`].
    pub(super) fn all_q8(&self) -> bool {
        let q8 = |p: &Proj| matches!(p, Proj::Quant { .. });
        !self.trainable && q8(&self.lm_head) && self.blocks.iter().all(|b| b.proj.iter().all(q8))
    }
}

/// One projection through its 8-bit matrix.
fn project(p: &Proj, x: &[f32], rows: usize) -> Result<Vec<f32>> {
    let m: &Q8Matrix = match p {
        Proj::Quant { q8, .. } => q8,
        _ => return Err(Error::Other("the quantised decoding path needs quantised projections".into())),
    };
    m.matmul(x, rows).ok_or_else(|| Error::Other("a NaN or an infinity in the model's activations (corrupt weights?)".into()))
}
