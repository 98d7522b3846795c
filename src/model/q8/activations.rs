//! Activations quantised for the 8-bit products (`model::q8`): per block of
//! 32 inputs a scale `d = max|v| / 127` and `q = round(v / d)`, rounded half
//! to even, in the two layouts the kernels read (a few rows in input order;
//! up to 16 rows interleaved pair by pair, one row per SIMD lane).

use super::{LANES, QK};

/// Quantises one block: returns its scale and writes `round(v / d)`
/// (computed as `v * (1 / d)`, rounded half to even: one instruction in wasm
/// and on x86-64, where `f32::round` is a libm call). `None` when the block
/// holds a NaN or an infinity. Loops without early exits, so they vectorise.
pub(super) fn quantize_block(v: &[f32], out: &mut [i8]) -> Option<f32> {
    let bad = v.iter().fold(false, |b, x| b | !x.is_finite());
    if bad {
        return None;
    }
    // `if` rather than `f32::max`, which is a libm call in wasm (no NaN here).
    let amax = v.iter().fold(0f32, |m, x| if x.abs() > m { x.abs() } else { m });
    let d = amax / 127.0;
    let id = if d > 0.0 { 1.0 / d } else { 0.0 };
    for (o, &x) in out.iter_mut().zip(v) {
        *o = (x * id).round_ties_even() as i8;
    }
    Some(d)
}

/// One block of activations quantised as [`quantize_block`] does it, written
/// as 16 pairs of sign-extended i16 (inputs `2p`, `2p + 1` as the low and high
/// halves of `out[p]`: what the kernels multiply).
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn quantize_pairs(v: &[f32], out: &mut [i32]) -> Option<f32> {
    let mut blk = [0i8; QK];
    let d = quantize_block(v, &mut blk)?;
    for (o, p) in out.iter_mut().zip(blk.chunks_exact(2)) {
        *o = (p[0] as i16 as u16 as u32 | (p[1] as i16 as u16 as u32) << 16) as i32;
    }
    Some(d)
}

/// [`quantize_pairs`] in simd128, the same operations lane by lane (so the
/// same bits): the largest magnitude by pseudo-max (exact in any order for
/// finite values), the products rounded half to even, narrowed to i16.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn quantize_pairs(v: &[f32], out: &mut [i32]) -> Option<f32> {
    use core::arch::wasm32::*;
    assert!(v.len() == QK && out.len() == QK / 2);
    // Safety: the assert bounds the 8 loads of 4 f32 and the 4 stores of 4 i32.
    unsafe {
        let x: [v128; 8] = core::array::from_fn(|i| v128_load((v.as_ptr() as *const v128).add(i)));
        let inf = f32x4_splat(f32::INFINITY);
        let (mut finite, mut m) = (f32x4_lt(f32x4_abs(x[0]), inf), f32x4_abs(x[0]));
        for xi in &x[1..] {
            finite = v128_and(finite, f32x4_lt(f32x4_abs(*xi), inf));
            m = f32x4_pmax(m, f32x4_abs(*xi));
        }
        if !i32x4_all_true(finite) {
            return None;
        }
        let lanes = [f32x4_extract_lane::<0>(m), f32x4_extract_lane::<1>(m), f32x4_extract_lane::<2>(m), f32x4_extract_lane::<3>(m)];
        let amax = lanes.iter().fold(0f32, |m, &x| if x > m { x } else { m });
        let d = amax / 127.0;
        let id = f32x4_splat(if d > 0.0 { 1.0 / d } else { 0.0 });
        let q: [v128; 8] = core::array::from_fn(|i| i32x4_trunc_sat_f32x4(f32x4_nearest(f32x4_mul(x[i], id))));
        for i in 0..4 {
            v128_store((out.as_mut_ptr() as *mut v128).add(i), i16x8_narrow_i32x4(q[2 * i], q[2 * i + 1]));
        }
        Some(d)
    }
}

/// A few rows of quantised activations, in input order: `q[row][i]`, `d[row][block]`.
pub(super) struct Rows {
    pub(super) rows: usize,
    pub(super) q: Vec<i16>,
    pub(super) d: Vec<f32>,
}

impl Rows {
    pub(super) fn quantize(x: &[f32], rows: usize, k: usize) -> Option<Self> {
        let mut q = vec![0i16; rows * k];
        let mut d = Vec::with_capacity(rows * k / QK);
        let mut pairs = [0i32; QK / 2];
        for (xb, qb) in x.chunks_exact(QK).zip(q.chunks_exact_mut(QK)) {
            d.push(quantize_pairs(xb, &mut pairs)?);
            for (o, &p) in qb.chunks_exact_mut(2).zip(&pairs) {
                (o[0], o[1]) = (p as i16, (p >> 16) as i16);
            }
        }
        Some(Self { rows, q, d })
    }
}

/// Up to 16 rows of quantised activations, interleaved for the kernels:
/// `q[pair][lane]` holds inputs `2 pair` and `2 pair + 1` of row `lane` as
/// two i16 in one i32; `d[block][lane]`. Unused lanes are zero.
pub(super) struct Lanes {
    pub(super) rows: usize,
    pub(super) q: Vec<i32>,
    pub(super) d: Vec<f32>,
}

impl Lanes {
    pub(super) fn quantize(x: &[f32], rows: usize, k: usize) -> Option<Self> {
        let mut q = vec![0i32; k / 2 * LANES];
        let mut d = vec![0f32; k / QK * LANES];
        let mut pairs = [0i32; QK / 2];
        for r in 0..rows {
            for b in 0..k / QK {
                d[b * LANES + r] = quantize_pairs(&x[r * k + b * QK..r * k + (b + 1) * QK], &mut pairs)?;
                for (p, &v) in pairs.iter().enumerate() {
                    q[(b * QK / 2 + p) * LANES + r] = v;
                }
            }
        }
        Some(Self { rows, q, d })
    }

    /// Row `r`'s quantised input `i`.
    pub(super) fn get(&self, r: usize, i: usize) -> i32 {
        let pair = self.q[i / 2 * LANES + r];
        (if i.is_multiple_of(2) { pair as i16 } else { (pair >> 16) as i16 }) as i32
    }
}
