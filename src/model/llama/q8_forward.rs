//! The decoding forward pass of a quantised model (prefill and sampling
//! steps: the `decode::Q8Decode` backend), computed so that every
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
/// every platform computes the same value. No branches before the final
/// choice (the input is clamped, and `2^k` is built from the bits of
/// `k + 1023 + 2^52`), so loops over it vectorise.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LN2_HI: f64 = 0.693_147_180_369_123_8; // ln 2 rounded to 32 bits
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10; // ln 2 - LN2_HI
    const C: [f64; 10] = [1.0, 1.0, 1.0 / 2.0, 1.0 / 6.0, 1.0 / 24.0, 1.0 / 120.0, 1.0 / 720.0, 1.0 / 5040.0, 1.0 / 40320.0, 1.0 / 362880.0];
    // A NaN stays NaN through every step below.
    let xc = x.clamp(-104.0, 89.0) as f64;
    let k = (xc * std::f64::consts::LOG2_E + 0.5).floor();
    let r = (xc - k * LN2_HI) - k * LN2_LO;
    let mut p = C[9];
    for &c in C[..9].iter().rev() {
        p = c + p * r;
    }
    // 2^k for k in -150..=129, as a product of two powers inside the f64
    // range; 2^e from the integer e + 1023 held in the low mantissa bits of
    // e + 1023 + 2^52, shifted into the exponent field.
    let half = (k / 2.0).floor();
    let pow = |e: f64| f64::from_bits((e + (1023.0 + 4_503_599_627_370_496.0)).to_bits() << 52);
    let y = (p * pow(half) * pow(k - half)) as f32;
    if x < -104.0 {
        0.0
    } else if x > 89.0 {
        f32::INFINITY
    } else {
        y
    }
}

/// `sum_i a_i b_i` in a fixed order: eight running sums (element `i` into
/// sum `i % 8`), then a fixed tree. The same bits everywhere: the wasm build
/// keeps the eight sums in two simd128 vectors (the same multiply, then add,
/// per sum).
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let s = partial_sums(a, b);
    ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
fn partial_sums(a: &[f32], b: &[f32]) -> [f32; 8] {
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
    s
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn partial_sums(a: &[f32], b: &[f32]) -> [f32; 8] {
    use core::arch::wasm32::*;
    let n = a.len().min(b.len()) / 8 * 8;
    let (mut lo, mut hi) = (f32x4_splat(0.0), f32x4_splat(0.0));
    // Safety: `n <= len` of both slices bounds every 16-byte load.
    unsafe {
        for i in (0..n).step_by(8) {
            let (pa, pb) = (a.as_ptr().add(i) as *const v128, b.as_ptr().add(i) as *const v128);
            lo = f32x4_add(lo, f32x4_mul(v128_load(pa), v128_load(pb)));
            hi = f32x4_add(hi, f32x4_mul(v128_load(pa.add(1)), v128_load(pb.add(1))));
        }
    }
    let mut s = [0f32; 8];
    // Safety: two 16-byte stores into the 32-byte array.
    unsafe {
        v128_store(s.as_mut_ptr() as *mut v128, lo);
        v128_store(s.as_mut_ptr().add(4) as *mut v128, hi);
    }
    for (l, (x, y)) in a[n..].iter().zip(&b[n..]).enumerate() {
        s[l] += x * y;
    }
    s
}

/// `o_i += w v_i` (multiply, then add), in simd128 in the wasm build.
#[inline(always)]
fn add_scaled(o: &mut [f32], w: f32, v: &[f32]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        use core::arch::wasm32::*;
        let n = o.len().min(v.len()) / 4 * 4;
        let ws = f32x4_splat(w);
        // Safety: `n <= len` of both slices bounds every 16-byte access.
        unsafe {
            for i in (0..n).step_by(4) {
                let (po, pv) = (o.as_mut_ptr().add(i) as *mut v128, v.as_ptr().add(i) as *const v128);
                v128_store(po, f32x4_add(v128_load(po), f32x4_mul(ws, v128_load(pv))));
            }
        }
        for (o, &vi) in o[n..].iter_mut().zip(&v[n..]) {
            *o += w * vi;
        }
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    for (o, &vi) in o.iter_mut().zip(v) {
        *o += w * vi;
    }
}

#[inline(always)]
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
/// and values `[s, batch, kv_heads, hd]` (position-major, `s = offset + t`);
/// query head `h` reads K/V head `h / (heads / kv_heads)`. Returns
/// `[batch, t, heads * hd]`. The query heads sharing a K/V head are done
/// together, so each cached row is read once for all of them; each head's
/// sums run in the same order as one head alone.
#[allow(clippy::too_many_arguments)]
fn attention(q: &[f32], k: &[f32], v: &[f32], (b, t, s): (usize, usize, usize), heads: usize, kv_heads: usize, hd: usize) -> Vec<f32> {
    let offset = s - t;
    let group = heads / kv_heads;
    let scale = 1.0 / (hd as f32).sqrt();
    let mut out = vec![0f32; b * t * heads * hd];
    // Scores of the group's heads: `w[hh * s + j]`.
    let mut w = vec![0f32; group * s];
    let mut sums = vec![0f32; group];
    let at = |j: usize, bi: usize, g: usize| ((j * b + bi) * kv_heads + g) * hd;
    for bi in 0..b {
        for ti in 0..t {
            let seen = offset + ti + 1;
            let row = (bi * t + ti) * heads;
            for g in 0..kv_heads {
                let heads_of = (row + g * group) * hd..(row + (g + 1) * group) * hd;
                let qg = &q[heads_of.clone()];
                for j in 0..seen {
                    let kr = &k[at(j, bi, g)..][..hd];
                    for (hh, qv) in qg.chunks_exact(hd).enumerate() {
                        w[hh * s + j] = dot(qv, kr) * scale;
                    }
                }
                for (hh, wh) in w.chunks_exact_mut(s).enumerate() {
                    let wh = &mut wh[..seen];
                    // `if`, not `f32::max` (a libm call in wasm); NaNs are skipped alike.
                    let max = wh.iter().fold(f32::NEG_INFINITY, |m, &x| if x > m { x } else { m });
                    for x in wh.iter_mut() {
                        *x = exp(*x - max);
                    }
                    sums[hh] = wh.iter().fold(0f32, |a, &e| a + e);
                }
                let og = &mut out[heads_of];
                for j in 0..seen {
                    let vr = &v[at(j, bi, g)..][..hd];
                    for (hh, o) in og.chunks_exact_mut(hd).enumerate() {
                        add_scaled(o, w[hh * s + j], vr);
                    }
                }
                for (hh, o) in og.chunks_exact_mut(hd).enumerate() {
                    for o in o.iter_mut() {
                        *o /= sums[hh];
                    }
                }
            }
        }
    }
    out
}

/// Appends `[batch, t, kv_heads, hd]` keys or values to a position-major
/// cache slot `[s, batch, kv_heads, hd]`.
fn append(slot: &mut Vec<f32>, new: &[f32], (b, t, kvh, hd): (usize, usize, usize, usize)) {
    slot.reserve(new.len());
    for ti in 0..t {
        for bi in 0..b {
            slot.extend_from_slice(&new[(bi * t + ti) * kvh * hd..][..kvh * hd]);
        }
    }
}

impl Llama {
    /// Logits `[batch, t, vocab]` for `ids` continuing the cached sequences,
    /// on the quantised weights (see the module doc); extends the cache.
    pub fn forward_q8(&self, ids: &Tensor, cache: &mut KvCache) -> Result<Tensor> {
        let (b, t) = ids.dims2()?;
        let offset = cache.len();
        let cfg = &self.cfg;
        if offset + t > cfg.max_position_embeddings {
            return crate::error::param_err(format!("sequence of {} tokens exceeds the model's {} positions", offset + t, cfg.max_position_embeddings));
        }
        let (heads, kvh, hd, eps) = (cfg.num_attention_heads, cfg.kv_heads(), cfg.head_dim(), cfg.rms_norm_eps as f32);
        let rows = b * t;
        let vec = |t: &Tensor| -> Result<Vec<f32>> { Ok(t.flatten_all()?.to_vec1::<f32>()?) };
        let mut x = vec(&self.embed.index_select(&ids.flatten_all()?, 0)?)?;
        let (cos, sin) = (vec(&self.cos.narrow(0, offset, t)?)?, vec(&self.sin.narrow(0, offset, t)?)?);
        for (i, blk) in self.blocks.iter().enumerate() {
            let h = rms_norm(&x, &vec(&blk.attn_norm)?, eps);
            let [mut q, mut k, v] = project_shared(&blk.proj[..3], &h, rows)?.try_into().map_err(|_| wrong_product_count())?;
            rope(&mut q, t, heads, hd, &cos, &sin);
            rope(&mut k, t, kvh, hd, &cos, &sin);
            let (ck, cv) = cache.q8_layer_mut(i, b)?;
            append(ck, &k, (b, t, kvh, hd));
            append(cv, &v, (b, t, kvh, hd));
            let a = attention(&q, ck, cv, (b, t, offset + t), heads, kvh, hd);
            for (x, o) in x.iter_mut().zip(project(&blk.proj[3], &a, rows)?) {
                *x += o;
            }
            let h = rms_norm(&x, &vec(&blk.mlp_norm)?, eps);
            let [mut m, up] = project_shared(&blk.proj[4..6], &h, rows)?.try_into().map_err(|_| wrong_product_count())?;
            for (g, u) in m.iter_mut().zip(&up) {
                *g = silu(*g) * u;
            }
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
    /// the model decodes on [`Llama::forward_q8`] (`decode::on_cpu` picks
    /// `Q8Decode`), whose log-probabilities approximate the f32 model's.
    pub fn decodes_on_q8(&self) -> bool {
        let q8 = |p: &Proj| matches!(p, Proj::Quant { .. });
        !self.trainable && q8(&self.lm_head) && self.blocks.iter().all(|b| b.proj.iter().all(q8))
    }
}

/// One projection through its 8-bit matrix.
fn project(p: &Proj, x: &[f32], rows: usize) -> Result<Vec<f32>> {
    project_shared(std::slice::from_ref(p), x, rows)?.pop().ok_or_else(non_finite_activations)
}

/// Projections of the same input (q, k, v; gate, up), the input quantised once.
fn project_shared(ps: &[Proj], x: &[f32], rows: usize) -> Result<Vec<Vec<f32>>> {
    let ms = ps
        .iter()
        .map(|p| match p {
            Proj::Quant { q8, .. } => Ok(&**q8),
            _ => Err(Error::Other("the quantised decoding path needs quantised projections".into())),
        })
        .collect::<Result<Vec<&Q8Matrix>>>()?;
    Q8Matrix::matmul_shared(&ms, x, rows).ok_or_else(non_finite_activations)
}

/// What an 8-bit product returns when its input is not finite.
fn non_finite_activations() -> Error {
    Error::Other("a NaN or an infinity in the model's activations (corrupt weights?)".into())
}

/// The fused products came back in another number than asked for.
fn wrong_product_count() -> Error {
    Error::Other("the 8-bit path got another number of products than it asked for".into())
}
