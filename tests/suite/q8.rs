//! The batched 8-bit kernel (`model::q8`): the SIMD kernel of this build
//! equals the scalar definition bit for bit, and both stay close to the f32
//! product. (The wasm kernel is checked against the CLI by the browser test.)

use sharpening_lab::model::q8::{reference_matmul, Q8Matrix, QK};
use sharpening_lab::rng::{Rng, Stream};

fn random(n: usize, seed: u64, scale: f32) -> Vec<f32> {
    let mut rng = Rng::new(seed, Stream::Fixture { a: 7, b: 0 }).unwrap();
    (0..n).map(|i| if i % 97 < 32 && seed % 2 == 0 { 0.0 } else { (rng.uniform() as f32 - 0.5) * scale }).collect()
}

#[test]
fn simd_kernel_equals_the_definition_bit_for_bit() {
    let mut cases = 0;
    for &(n, k) in &[(1, 32), (3, 64), (8, 96), (13, 576), (64, 192)] {
        for &rows in &[1, 2, 5, 8, 15, 16, 17, 31, 32, 33] {
            let w = random(n * k, (n * 31 + k) as u64, 0.2);
            let x = random(rows * k, (rows * 7 + k) as u64, 4.0);
            let m = Q8Matrix::from_dense(&w, n, k).unwrap();
            let fast = m.matmul(&x, rows).unwrap();
            let slow = reference_matmul(&m, &x, rows).unwrap();
            assert_eq!(fast.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), slow.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), "n {n} k {k} rows {rows}");
            cases += 1;
        }
    }
    assert_eq!(cases, 50);
}

/// Several matrices on one input (q, k, v; gate, up) quantise it once and
/// give each the bits of its own product.
#[test]
fn shared_input_products_equal_separate_ones() {
    let k = 96;
    let ws: Vec<Q8Matrix> = [(5, 1u64), (12, 2), (3, 3)].iter().map(|&(n, seed)| Q8Matrix::from_dense(&random(n * k, seed, 0.3), n, k).unwrap()).collect();
    for rows in [1, 4, 5, 16, 21] {
        let x = random(rows * k, 40 + rows as u64, 2.0);
        let shared = Q8Matrix::matmul_shared(&ws.iter().collect::<Vec<_>>(), &x, rows).unwrap();
        for (m, y) in ws.iter().zip(&shared) {
            let alone = m.matmul(&x, rows).unwrap();
            assert_eq!(y.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), alone.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), "rows {rows}");
        }
    }
    let other = Q8Matrix::from_dense(&random(4 * 64, 9, 0.3), 4, 64).unwrap();
    assert!(Q8Matrix::matmul_shared(&[&ws[0], &other], &random(2 * k, 1, 1.0), 2).is_none(), "different input widths");
}

#[test]
fn close_to_the_f32_product() {
    let (n, k, rows) = (40, 576, 16);
    let w = random(n * k, 11, 0.2);
    let x = random(rows * k, 13, 4.0);
    let m = Q8Matrix::from_dense(&w, n, k).unwrap();
    let y = m.matmul(&x, rows).unwrap();
    let mut worst = 0f32;
    for r in 0..rows {
        for j in 0..n {
            let exact: f32 = (0..k).map(|i| x[r * k + i] * w[j * k + i]).sum();
            // Each factor is within half a step (d / 2) of its value.
            let bound: f32 = (0..k).map(|i| (x[r * k + i].abs() * 0.1 / 127.0 + w[j * k + i].abs() * 2.0 / 127.0 + 1e-4) * 0.5).sum();
            let err = (y[r * n + j] - exact).abs();
            assert!(err <= bound, "row {r} col {j}: {} vs {exact} (bound {bound})", y[r * n + j]);
            worst = worst.max(err / bound);
        }
    }
    assert!(worst > 0.0, "quantisation changes something");
    // The weights as the kernel sees them are within half a step of the input.
    let d = 0.1f32 / 127.0;
    assert!((0..k).all(|i| (m.dequantized(3, i) - w[3 * k + i]).abs() <= d * 0.5 + 1e-7));
}

#[test]
fn refuses_what_it_cannot_do_exactly() {
    let w = random(4 * 64, 3, 1.0);
    assert!(Q8Matrix::from_dense(&w, 4, 64).is_some());
    assert!(Q8Matrix::from_dense(&w[..4 * 48], 4, 48).is_none(), "k not a multiple of 32");
    assert!(Q8Matrix::from_dense(&w, 5, 64).is_none(), "wrong length");
    let mut bad = w.clone();
    bad[7] = f32::NAN;
    assert!(Q8Matrix::from_dense(&bad, 4, 64).is_none(), "NaN weight");
    let m = Q8Matrix::from_dense(&w, 4, 64).unwrap();
    let mut x = random(6 * 64, 5, 1.0);
    x[200] = f32::INFINITY;
    assert!(m.matmul(&x, 6).is_none(), "an infinite activation goes to the dense path");
    assert!(m.matmul(&x[..64], 2).is_none(), "wrong length");
    assert_eq!(QK, 32);
}

/// The decoding path's own `exp` (IEEE operations only) is within one f32
/// step of the exact value.
#[test]
fn portable_exp_is_accurate() {
    use sharpening_lab::model::llama::portable_exp;
    let mut worst = 0f64;
    let mut n = 0;
    let mut x = -103.9f32;
    while x < 88.7 {
        let want = (x as f64).exp();
        let got = portable_exp(x) as f64;
        let ulp = (want as f32).abs().max(f32::MIN_POSITIVE) as f64 * f32::EPSILON as f64;
        worst = worst.max((got - want).abs() / ulp);
        x += 0.0137;
        n += 1;
    }
    assert!(n > 10_000 && worst <= 1.0, "{worst} f32 steps over {n} points");
    eprintln!("portable exp: worst {worst:.2} f32 steps over {n} points");
    assert_eq!(portable_exp(0.0), 1.0);
    assert_eq!(portable_exp(-200.0), 0.0);
    assert_eq!(portable_exp(100.0), f32::INFINITY);
    assert!(portable_exp(f32::NAN).is_nan());
    assert_eq!(portable_exp(f32::NEG_INFINITY), 0.0);
}

/// Timing for development: `cargo test --release --test suite q8:: -- --ignored --nocapture`.
#[test]
#[ignore]
fn speed() {
    use candle_core::{Device, Tensor};
    for &(n, k) in &[(1536usize, 576usize), (576, 1536), (49152, 576)] {
        for &rows in &[1usize, 4, 5, 8, 16, 32] {
            let w = random(n * k, 1, 0.2);
            let x = random(rows * k, 2, 4.0);
            let m = Q8Matrix::from_dense(&w, n, k).unwrap();
            let reps = (4e9 / (n * k * rows) as f64).max(3.0) as usize;
            let t = std::time::Instant::now();
            for _ in 0..reps {
                std::hint::black_box(m.matmul(&x, rows));
            }
            let q8 = t.elapsed().as_secs_f64() / reps as f64;
            let wt = Tensor::from_vec(w.clone(), (n, k), &Device::Cpu).unwrap();
            let xt = Tensor::from_vec(x.clone(), (rows, k), &Device::Cpu).unwrap();
            let t = std::time::Instant::now();
            for _ in 0..reps {
                std::hint::black_box(wt.matmul(&xt.t().unwrap()).unwrap().t().unwrap().contiguous().unwrap());
            }
            let f = t.elapsed().as_secs_f64() / reps as f64;
            let g = |s: f64| (n * k * rows) as f64 / s / 1e9;
            println!("n {n} k {k} rows {rows}: q8 {:.1} GMAC/s, f32 {:.1} GMAC/s", g(q8), g(f));
        }
    }
}
