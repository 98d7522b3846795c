//! Batched 8-bit products for decoding several sequences at once
//! (`y = x w^T` for 5-32 rows of activations, as in best-of-N sampling).
//!
//! Weights and activations are both quantised the way llama.cpp's Q8_0 ×
//! Q8_0 dot product does it: blocks of `QK = 32` consecutive inputs, each
//! block stored as 32 signed 8-bit integers and one scale
//! `d = max|v| / 127`, `q = round(v / d)` (computed as `v * (1/d)`, ties to
//! even where llama.cpp rounds them away from zero).
//! For output `j` of row `r` the product is, block by block in input order,
//!
//! ```text
//! acc_0 = 0,   acc_{b+1} = acc_b + f32(Σ_{i<32} qw[j][b,i] · qx[r][b,i]) · (dw[j][b] · dx[r][b])
//! ```
//!
//! The integer sums are exact whatever order the SIMD code adds them in, and
//! the f32 steps are the same three IEEE operations in the same order in every
//! kernel (no fused multiply-add: Rust never contracts, and the kernels call
//! separate multiply and add instructions). So the wasm simd128 kernel, the
//! x86-64 AVX2 kernel and the scalar [`reference`] give **bit-identical**
//! results: the page's samples equal the CLI's (`tests/suite/q8.rs` checks the
//! native kernel against the reference; the browser test checks the page
//! against the CLI).
//!
//! Why: with 16 rows, f32 products run at about a third of native speed in
//! wasm (128-bit SIMD without fused multiply-add). Here each weight is read
//! once as 8 bits and multiplied with 16 rows' activations by
//! `i32x4.dot_i16x8_s` (8 multiply-adds per instruction), the rows sitting
//! in the SIMD lanes; see BENCHMARKS.md for the speeds.

/// Inputs per quantisation block (llama.cpp's `QK8_0`).
pub const QK: usize = 32;

/// Rows handled together: one lane each (four wasm vectors, two AVX2 ones).
const LANES: usize = 16;

mod activations;
use activations::{quantize_block, Lanes, Rows};

/// A weight matrix `[n, k]` quantised per block of 32 inputs.
pub struct Q8Matrix {
    n: usize,
    k: usize,
    /// Quantised weights by groups of four output rows, each group block by
    /// block: `[n / 4][k / 32][4][32]` (rows padded to a multiple of 4 with
    /// zeros), so four rows' blocks are one contiguous run; see [`Q8Matrix::qi`].
    q: Vec<i8>,
    /// Block scales in the same order: `[n / 4][k / 32][4]`; see [`Q8Matrix::di`].
    d: Vec<f32>,
}

impl Q8Matrix {
    /// Quantises a dense `[n, k]` row-major matrix. `None` when `k` is not a
    /// multiple of 32 or a weight is not finite (the dense path is used then).
    pub fn from_dense(w: &[f32], n: usize, k: usize) -> Option<Self> {
        if k == 0 || !k.is_multiple_of(QK) || w.len() != n * k {
            return None;
        }
        let padded = n.div_ceil(4) * 4;
        let mut m = Self { n, k, q: vec![0i8; padded * k], d: vec![0f32; padded * k / QK] };
        for j in 0..n {
            for b in 0..k / QK {
                let (qi, di) = (m.qi(j, b), m.di(j, b));
                m.d[di] = quantize_block(&w[j * k + b * QK..j * k + (b + 1) * QK], &mut m.q[qi..qi + QK])?;
            }
        }
        Some(m)
    }

    /// Where row `j`'s block `b` starts in `q`.
    #[inline(always)]
    fn qi(&self, j: usize, b: usize) -> usize {
        ((j / 4 * (self.k / QK) + b) * 4 + j % 4) * QK
    }

    /// Where row `j`'s block `b` scale is in `d`.
    #[inline(always)]
    fn di(&self, j: usize, b: usize) -> usize {
        (j / 4 * (self.k / QK) + b) * 4 + j % 4
    }

    /// Output features.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Bytes held (1 per weight plus 4 per block of 32).
    pub fn bytes(&self) -> usize {
        self.q.len() + 4 * self.d.len()
    }

    /// The weight `[j, i]` as the products see it (`q * d`).
    pub fn dequantized(&self, j: usize, i: usize) -> f32 {
        self.q[self.qi(j, i / QK) + i % QK] as f32 * self.d[self.di(j, i / QK)]
    }

    /// `y = x w^T` for `x` of `rows` rows of `k` (row-major); `y` is
    /// `[rows, n]`. `None` when `x` holds a NaN or an infinity, so that the
    /// caller's dense product propagates it instead of hiding it.
    pub fn matmul(&self, x: &[f32], rows: usize) -> Option<Vec<f32>> {
        Self::matmul_shared(&[self], x, rows)?.pop()
    }

    /// [`matmul`](Self::matmul) of several matrices with the same input
    /// width on the same `x` (as q, k, v or gate, up): the activations are
    /// quantised once for all of them.
    pub fn matmul_shared(ms: &[&Q8Matrix], x: &[f32], rows: usize) -> Option<Vec<Vec<f32>>> {
        let k = ms.first()?.k;
        if x.len() != rows * k || ms.iter().any(|m| m.k != k) {
            return None;
        }
        let mut ys: Vec<Vec<f32>> = ms.iter().map(|m| vec![0f32; rows * m.n]).collect();
        if rows <= FEW_ROWS {
            let x = Rows::quantize(x, rows, k)?;
            for (m, y) in ms.iter().zip(&mut ys) {
                row_kernel(m, &x, y);
            }
            return Some(ys);
        }
        for r0 in (0..rows).step_by(LANES) {
            let lanes = Lanes::quantize(&x[r0 * k..], (rows - r0).min(LANES), k)?;
            for (m, y) in ms.iter().zip(&mut ys) {
                kernel(m, &lanes, &mut y[r0 * m.n..]);
            }
        }
        Some(ys)
    }
}

/// Up to this many rows go through [`row_kernel`] (the weights in the SIMD
/// lanes); more through the lane kernel (the rows in the lanes).
pub const FEW_ROWS: usize = 4;

/// The definition, one output at a time (the other kernels must equal it bit
/// for bit); writes `y[r * n + j]` for the lanes' rows.
fn reference(w: &Q8Matrix, x: &Lanes, y: &mut [f32]) {
    let nb = w.k / QK;
    for r in 0..x.rows {
        for j in 0..w.n {
            let mut acc = 0f32;
            for b in 0..nb {
                let mut s = 0i32;
                for i in b * QK..(b + 1) * QK {
                    s += w.q[w.qi(j, b) + i % QK] as i32 * x.get(r, i);
                }
                acc = accumulate(acc, s, w.d[w.di(j, b)], x.d[b * LANES + r]);
            }
            y[r * w.n + j] = acc;
        }
    }
}

/// Writes one column's 16 lane results `t` into `y` (rows `0..rows`).
#[allow(dead_code)]
fn scatter(t: &[f32; LANES], rows: usize, n: usize, j: usize, y: &mut [f32]) {
    for (r, &v) in t.iter().enumerate().take(rows) {
        y[r * n + j] = v;
    }
}

/// Columns per pass over the activations: two wasm, four AVX2 (each column
/// keeps 16 lanes of sums in registers).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
const COLS: usize = 2;
#[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
const COLS: usize = 4;

#[cfg(any(all(target_arch = "wasm32", target_feature = "simd128"), all(target_arch = "x86_64", target_feature = "avx2")))]
fn kernel(w: &Q8Matrix, x: &Lanes, y: &mut [f32]) {
    let mut j = 0;
    while j + COLS <= w.n {
        columns::<COLS>(w, x, j, y);
        j += COLS;
    }
    while j < w.n {
        columns::<1>(w, x, j, y);
        j += 1;
    }
}

/// Outputs `j0..j0 + C` for every lane (wasm: four i32x4 per column).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn columns<const C: usize>(w: &Q8Matrix, x: &Lanes, j0: usize, y: &mut [f32]) {
    use core::arch::wasm32::*;
    let nb = w.k / QK;
    assert!(j0 + C <= w.n && x.q.len() == w.k / 2 * LANES && x.d.len() == nb * LANES);
    // Safety: the assert bounds every offset below: weights `qi(j0 + c, b) +
    // 31` for a row `j0 + c < n` and a block `b < k / 32`, activations `pair * 16 + 4 l + 3 < k / 2 * 16`, scales
    // `b * 16 + 4 l + 3 < nb * 16`; wasm loads need no alignment.
    unsafe {
        let (wq, xq, xd) = (w.q.as_ptr(), x.q.as_ptr(), x.d.as_ptr());
        let mut acc = [[f32x4_splat(0.0); 4]; C];
        for b in 0..nb {
            let mut s = [[i32x4_splat(0); 4]; C];
            let rows: [*const i8; C] = core::array::from_fn(|c| wq.add(w.qi(j0 + c, b) - b * QK));
            for p in b * QK / 2..(b + 1) * QK / 2 {
                let a = xq.add(p * LANES) as *const v128;
                let a = [v128_load(a), v128_load(a.add(1)), v128_load(a.add(2)), v128_load(a.add(3))];
                for c in 0..C {
                    // The weight pair (2p, 2p+1) in every i32 lane, as i16.
                    let wv = i16x8_extend_low_i8x16(v128_load16_splat(rows[c].add(2 * p) as *const u16));
                    for l in 0..4 {
                        s[c][l] = i32x4_add(s[c][l], i32x4_dot_i16x8(wv, a[l]));
                    }
                }
            }
            for c in 0..C {
                let dw = f32x4_splat(*w.d.get_unchecked(w.di(j0 + c, b)));
                for l in 0..4 {
                    let scale = f32x4_mul(dw, v128_load(xd.add(b * LANES + 4 * l) as *const v128));
                    acc[c][l] = f32x4_add(acc[c][l], f32x4_mul(f32x4_convert_i32x4(s[c][l]), scale));
                }
            }
        }
        for (c, acc) in acc.iter().enumerate() {
            let mut t = [0f32; LANES];
            for (l, a) in acc.iter().enumerate() {
                v128_store(t[4 * l..].as_mut_ptr() as *mut v128, *a);
            }
            scatter(&t, x.rows, w.n, j0 + c, y);
        }
    }
}

/// Outputs `j0..j0 + C` for every lane (AVX2: two 8-lane vectors per column).
#[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
fn columns<const C: usize>(w: &Q8Matrix, x: &Lanes, j0: usize, y: &mut [f32]) {
    use core::arch::x86_64::*;
    let nb = w.k / QK;
    assert!(j0 + C <= w.n && x.q.len() == w.k / 2 * LANES && x.d.len() == nb * LANES);
    // Safety: AVX2 is enabled at compile time (cfg above); the assert bounds
    // every offset as in the wasm kernel; the loads are unaligned ones.
    unsafe {
        let (wq, xq, xd) = (w.q.as_ptr(), x.q.as_ptr(), x.d.as_ptr());
        let mut acc = [[_mm256_setzero_ps(); 2]; C];
        for b in 0..nb {
            let mut s = [[_mm256_setzero_si256(); 2]; C];
            let rows: [*const i8; C] = core::array::from_fn(|c| wq.add(w.qi(j0 + c, b) - b * QK));
            for p in b * QK / 2..(b + 1) * QK / 2 {
                let a = xq.add(p * LANES) as *const __m256i;
                let a = [_mm256_loadu_si256(a), _mm256_loadu_si256(a.add(1))];
                for c in 0..C {
                    let pair = (rows[c].add(2 * p) as *const i16).read_unaligned();
                    let wv = _mm256_cvtepi8_epi16(_mm_set1_epi16(pair));
                    for l in 0..2 {
                        s[c][l] = _mm256_add_epi32(s[c][l], _mm256_madd_epi16(wv, a[l]));
                    }
                }
            }
            for c in 0..C {
                let dw = _mm256_set1_ps(*w.d.get_unchecked(w.di(j0 + c, b)));
                for l in 0..2 {
                    let scale = _mm256_mul_ps(dw, _mm256_loadu_ps(xd.add(b * LANES + 8 * l)));
                    acc[c][l] = _mm256_add_ps(acc[c][l], _mm256_mul_ps(_mm256_cvtepi32_ps(s[c][l]), scale));
                }
            }
        }
        for (c, acc) in acc.iter().enumerate() {
            let mut t = [0f32; LANES];
            for (l, a) in acc.iter().enumerate() {
                _mm256_storeu_ps(t[8 * l..].as_mut_ptr(), *a);
            }
            scatter(&t, x.rows, w.n, j0 + c, y);
        }
    }
}

/// One output of a few rows: the block sums in any order (exact), then the
/// definition's f32 steps in block order.
#[inline(always)]
fn accumulate(acc: f32, isum: i32, dw: f32, dx: f32) -> f32 {
    acc + isum as f32 * (dw * dx)
}

/// The few-rows kernels' outer loops and bounds: `four(g, r)` returns the
/// outputs of weight rows `4g..4g + 4` for activation row `r` (rows past `n`
/// are zero padding and dropped).
#[allow(dead_code)]
fn few_rows(w: &Q8Matrix, x: &Rows, y: &mut [f32], four: impl Fn(usize, usize) -> [f32; 4]) {
    let (k, nb) = (w.k, w.k / QK);
    assert!(x.q.len() == x.rows * k && x.d.len() == x.rows * nb && x.rows <= FEW_ROWS && y.len() >= x.rows * w.n);
    assert!(w.q.len() == w.n.div_ceil(4) * 4 * k && w.d.len() == w.q.len() / QK);
    for g in 0..w.n.div_ceil(4) {
        for r in 0..x.rows {
            let out = four(g, r);
            let j = 4 * g;
            let m = (w.n - j).min(4);
            y[r * w.n + j..r * w.n + j + m].copy_from_slice(&out[..m]);
        }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn row_kernel(w: &Q8Matrix, x: &Rows, y: &mut [f32]) {
    use core::arch::wasm32::*;
    let (k, nb) = (w.k, w.k / QK);
    // Safety (with `few_rows`' asserts): group `g < n / 4` (rounded up), block
    // `b < k / 32`: weights `qi(4 g, b) + 127 < q.len()`, scales `di(4 g, b)
    // + 3 < d.len()`, activations `r * k + b * 32 + 31 < rows * k`; wasm
    // loads need no alignment.
    let (wq, xq) = (w.q.as_ptr(), x.q.as_ptr());
    // Four rows of W at a time (one contiguous run of blocks): their block
    // sums reduced into one i32x4 (row c of the group in lane c), then the
    // f32 steps on four lanes.
    few_rows(w, x, y, |g, r| unsafe {
        let mut acc = f32x4_splat(0.0);
        for b in 0..nb {
            let a = xq.add(r * k + b * QK) as *const v128;
            let a = [v128_load(a), v128_load(a.add(1)), v128_load(a.add(2)), v128_load(a.add(3))];
            let wp = wq.add(w.qi(4 * g, b)) as *const v128;
            let s: [v128; 4] = core::array::from_fn(|c| {
                let (w0, w1) = (v128_load(wp.add(2 * c)), v128_load(wp.add(2 * c + 1)));
                i32x4_add(
                    i32x4_add(i32x4_dot_i16x8(i16x8_extend_low_i8x16(w0), a[0]), i32x4_dot_i16x8(i16x8_extend_high_i8x16(w0), a[1])),
                    i32x4_add(i32x4_dot_i16x8(i16x8_extend_low_i8x16(w1), a[2]), i32x4_dot_i16x8(i16x8_extend_high_i8x16(w1), a[3])),
                )
            });
            let t0 = i32x4_add(i32x4_shuffle::<0, 4, 1, 5>(s[0], s[1]), i32x4_shuffle::<2, 6, 3, 7>(s[0], s[1]));
            let t1 = i32x4_add(i32x4_shuffle::<0, 4, 1, 5>(s[2], s[3]), i32x4_shuffle::<2, 6, 3, 7>(s[2], s[3]));
            let isum = i32x4_add(i32x4_shuffle::<0, 1, 4, 5>(t0, t1), i32x4_shuffle::<2, 3, 6, 7>(t0, t1));
            let dw = v128_load(w.d.as_ptr().add(w.di(4 * g, b)) as *const v128);
            let scale = f32x4_mul(dw, f32x4_splat(*x.d.get_unchecked(r * nb + b)));
            acc = f32x4_add(acc, f32x4_mul(f32x4_convert_i32x4(isum), scale));
        }
        let mut out = [0f32; 4];
        v128_store(out.as_mut_ptr() as *mut v128, acc);
        out
    })
}

#[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
fn row_kernel(w: &Q8Matrix, x: &Rows, y: &mut [f32]) {
    use core::arch::x86_64::*;
    let (k, nb) = (w.k, w.k / QK);
    // Safety: AVX2 at compile time; offsets bounded as in the wasm kernel.
    let (wq, xq) = (w.q.as_ptr(), x.q.as_ptr());
    few_rows(w, x, y, |g, r| unsafe {
        let mut acc = _mm_setzero_ps();
        for b in 0..nb {
            let a = xq.add(r * k + b * QK) as *const __m256i;
            let (a0, a1) = (_mm256_loadu_si256(a), _mm256_loadu_si256(a.add(1)));
            let wp = wq.add(w.qi(4 * g, b)) as *const __m128i;
            let s: [__m256i; 4] = core::array::from_fn(|c| {
                let (w0, w1) = (_mm256_cvtepi8_epi16(_mm_loadu_si128(wp.add(2 * c))), _mm256_cvtepi8_epi16(_mm_loadu_si128(wp.add(2 * c + 1))));
                _mm256_add_epi32(_mm256_madd_epi16(w0, a0), _mm256_madd_epi16(w1, a1))
            });
            // Row c's eight partial sums into lane c.
            let h = _mm256_hadd_epi32(_mm256_hadd_epi32(s[0], s[1]), _mm256_hadd_epi32(s[2], s[3]));
            let isum = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256::<1>(h));
            let dw = _mm_loadu_ps(w.d.as_ptr().add(w.di(4 * g, b)));
            let scale = _mm_mul_ps(dw, _mm_set1_ps(*x.d.get_unchecked(r * nb + b)));
            acc = _mm_add_ps(acc, _mm_mul_ps(_mm_cvtepi32_ps(isum), scale));
        }
        let mut out = [0f32; 4];
        _mm_storeu_ps(out.as_mut_ptr(), acc);
        out
    })
}

/// Other targets (and builds without AVX2 / simd128) run the definition.
#[cfg(not(any(all(target_arch = "wasm32", target_feature = "simd128"), all(target_arch = "x86_64", target_feature = "avx2"))))]
fn row_kernel(w: &Q8Matrix, x: &Rows, y: &mut [f32]) {
    let nb = w.k / QK;
    for r in 0..x.rows {
        for j in 0..w.n {
            let mut acc = 0f32;
            for b in 0..nb {
                let isum = (0..QK).map(|i| w.q[w.qi(j, b) + i] as i32 * x.q[r * w.k + b * QK + i] as i32).sum();
                acc = accumulate(acc, isum, w.d[w.di(j, b)], x.d[r * nb + b]);
            }
            y[r * w.n + j] = acc;
        }
    }
}

/// Other targets (and builds without AVX2 / simd128) run the definition.
#[cfg(not(any(all(target_arch = "wasm32", target_feature = "simd128"), all(target_arch = "x86_64", target_feature = "avx2"))))]
fn kernel(w: &Q8Matrix, x: &Lanes, y: &mut [f32]) {
    reference(w, x, y)
}

/// The scalar definition for tests: `y = x w^T` computed one output at a
/// time (None as for [`Q8Matrix::matmul`]).
pub fn reference_matmul(w: &Q8Matrix, x: &[f32], rows: usize) -> Option<Vec<f32>> {
    if x.len() != rows * w.k {
        return None;
    }
    let mut y = vec![0f32; rows * w.n];
    for r0 in (0..rows).step_by(LANES) {
        let lanes = Lanes::quantize(&x[r0 * w.k..], (rows - r0).min(LANES), w.k)?;
        reference(w, &lanes, &mut y[r0 * w.n..]);
    }
    Some(y)
}
