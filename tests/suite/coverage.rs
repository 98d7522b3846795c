//! Example J.1's classes against a brute-force enumeration of every answer,
//! the sampler against its distribution, and the coverage experiment's
//! accounting and the findings the README states.

use sharpening_lab::rng::{Rng, Stream};
use sharpening_lab::sharpen::coverage::{run_coverage, CoverageParams, CoverageReport};
use sharpening_lab::sharpen::linear::{LinearClass, Structure};

/// Every answer of `d` tokens (bit `i` = token `i` is `+`) with its feature
/// vector, written out from the definitions.
fn answers(structure: Structure, d: usize) -> Vec<Vec<f64>> {
    (0..1usize << d)
        .map(|y| match structure {
            Structure::Cube => (0..d).map(|i| if y >> i & 1 == 1 { 1.0 } else { -1.0 } / (d as f64).sqrt()).collect(),
            Structure::Lock => {
                let k = (0..d).take_while(|&i| y >> i & 1 == 1).count();
                (0..=d).map(|j| f64::from(u8::from(j == k))).collect()
            }
        })
        .collect()
}

fn brute(phi: &[Vec<f64>], theta: &[f64]) -> Vec<f64> {
    let s: Vec<f64> = phi.iter().map(|f| f.iter().zip(theta).map(|(a, b)| a * b).sum()).collect();
    let z: f64 = s.iter().map(|x| x.exp()).sum();
    s.iter().map(|x| x.exp() / z).collect()
}

#[test]
fn the_classes_equal_a_brute_force_enumeration() {
    let mut rng = Rng::new(1, Stream::Fixture { a: 17, b: 0 }).unwrap();
    for structure in [Structure::Cube, Structure::Lock] {
        let d = 5;
        let class = LinearClass::new(structure, d, 50.0).unwrap();
        let phi = answers(structure, d);
        let star = (1usize << d) - 1;
        for trial in 0..5 {
            let theta: Vec<f64> = if trial == 0 { class.theta_base() } else { (0..class.dims()).map(|_| 3.0 * rng.normal()).collect() };
            let p = brute(&phi, &theta);
            assert!((class.p_star(&theta) - p[star]).abs() < 1e-12, "{structure:?}");
            let mean: Vec<f64> = (0..class.dims()).map(|i| p.iter().zip(&phi).map(|(q, f)| q * f[i]).sum()).collect();
            for (a, b) in class.mean(&theta).iter().zip(&mean) {
                assert!((a - b).abs() < 1e-12);
            }
            let pb = brute(&phi, &class.theta_base());
            let kl: f64 = p.iter().zip(&pb).map(|(a, b)| a * (a / b).ln()).sum();
            assert!((class.kl(&theta, &class.theta_base()) - kl).abs() < 1e-9);
            let beta = 0.3;
            let j: f64 = p.iter().zip(&pb).map(|(a, b)| a * b.ln()).sum::<f64>() - beta * kl;
            assert!((class.objective(&theta, beta) - j).abs() < 1e-9);
        }
        let pb = brute(&phi, &class.theta_base());
        assert!((class.c_cov() - 1.0 / pb[star]).abs() < 1e-9 * class.c_cov());
        let runner = (0..pb.len()).filter(|&y| y != star).map(|y| pb[y]).fold(0.0, f64::max);
        assert!((class.margin() - (pb[star] / runner - 1.0)).abs() < 1e-9);
        // The closed form pi_base^(1+1/beta), normalised, is pi_{(1+1/beta) theta*}.
        let e = 1.0 + 1.0 / 0.2;
        let z: f64 = pb.iter().map(|x| x.powf(e)).sum();
        assert!((class.p_star(&class.closed_form(0.2)) - pb[star].powf(e) / z).abs() < 1e-9);
    }
}

#[test]
fn draws_follow_the_distribution() {
    let class = LinearClass::new(Structure::Lock, 4, 50.0).unwrap();
    let theta = vec![0.0, 0.5, -0.5, 1.0, 2.0];
    let p = class.type_probs(&theta);
    let n = 20_000;
    let mut counts = vec![0usize; p.len()];
    for k in 0..n {
        counts[class.draw(&theta, 3, 0, k, sharpening_lab::rng::LinearSide::Policy).unwrap()] += 1;
    }
    for (c, q) in counts.iter().zip(&p) {
        let sd = (n as f64 * q * (1.0 - q)).sqrt();
        assert!((*c as f64 - n as f64 * q).abs() < 4.5 * sd + 1.0, "{counts:?} vs {p:?}");
    }
}

fn run(p: CoverageParams) -> CoverageReport {
    run_coverage(&p, &mut |_, _| true).unwrap()
}

#[test]
fn curves_count_their_samples_and_alg1_never_gets_worse() {
    let r = run(CoverageParams { d: 6, budgets: vec![4, 16, 64], sft_n: vec![1, 8], alphas: vec![0.0, 0.05], fit_steps: 40, ..CoverageParams::default() });
    assert!(r.exact);
    assert_eq!(r.methods.len(), 2 + 1 + 2 * 2);
    for m in &r.methods {
        for c in &m.curve {
            assert_eq!(c.samples, c.samples_base + c.samples_policy);
            assert!((0.0..=1.0).contains(&c.p_star));
            assert_eq!(c.sharpened, f64::from(u8::from(c.p_star >= 0.9)));
            match m.method.as_str() {
                "sft" => assert!(c.samples_policy == 0 && c.samples % m.n.unwrap() == 0),
                "rlhf_offline" => assert_eq!(c.samples_policy, 0),
                _ => assert_eq!(c.samples_base, c.samples_policy, "one y from pi^(t) and one y' from pi_base per round"),
            }
        }
        if m.method == "rlhf_online" {
            // Alg. 1 returns the best round so far by J_beta: never worse with more samples.
            for w in m.curve.windows(2) {
                assert!(w[1].objective.unwrap() >= w[0].objective.unwrap() - 1e-12, "{:?}", m.curve);
            }
        }
    }
    // SFT with N = 8 has no point below a budget of 8 samples.
    assert_eq!(r.methods[1].curve.first().unwrap().samples, 16);
    let again = run(CoverageParams { d: 6, budgets: vec![4, 16, 64], sft_n: vec![1, 8], alphas: vec![0.0, 0.05], fit_steps: 40, ..CoverageParams::default() });
    assert_eq!(serde_json::to_string(&r).unwrap(), serde_json::to_string(&again).unwrap(), "same seed, same numbers");
    let e = run_coverage(&CoverageParams { d: 13, ..CoverageParams::default() }, &mut |_, _| true).unwrap_err();
    assert!(e.to_string().contains("2..=12"), "{e}");
}

/// What the README reports for the default run (lock, d = 10, beta 0.05):
/// exploration sharpens with a few dozen samples, coverage does not.
#[test]
fn on_the_lock_exploration_beats_coverage() {
    let r = run(CoverageParams::default());
    assert!(r.c_cov > 400.0 && r.c_cov < 450.0, "C_cov {}", r.c_cov);
    let first = |method: &str, n: Option<usize>, alpha: Option<f64>| {
        let m = r.methods.iter().find(|m| m.method == method && m.n == n && m.alpha == alpha).unwrap();
        m.curve.iter().find(|c| c.sharpened > 0.0).map(|c| c.samples)
    };
    assert!(first("rlhf_online", None, Some(0.01)).is_some_and(|s| s <= 128), "Alg. 1 with optimism sharpens within 128 samples");
    assert_eq!(first("rlhf_offline", None, None), None, "offline RLHF never does at 2048 samples");
    for n in [1, 4, 16, 64] {
        assert_eq!(first("sft", Some(n), None), None, "SFT with N = {n} (far below C_cov) never does");
    }
    let online0 = r.methods.iter().find(|m| m.method == "rlhf_online" && m.alpha == Some(0.0)).unwrap();
    let offline = r.methods.iter().find(|m| m.method == "rlhf_offline").unwrap();
    assert!(online0.curve.last().unwrap().p_star > offline.curve.last().unwrap().p_star, "sampling from pi^(t) alone explores further than pairs from pi_base");
}

/// The d-sweep sets Example J.1 up as Thm J.3 states it, recomputed here
/// from the cube's closed forms (not the code's): `gamma_margin = exp(2/d) - 1`,
/// `beta = gamma / (2 log(2^(d+1) / delta))`, `||theta*|| = 1` so the closed
/// form's norm is `1 + 1/beta`, `B = C d log d` with the smallest whole `C`
/// that holds it, and Thm J.3's alpha carried to the lab's loss with
/// `R_max = 1 + log Z + 1` (the all-minus answer). Alg. 1 sharpens within
/// 256 samples on every seed; SFT with N = 1 (its target is `pi_base` itself,
/// `pi(y*)` 0.15 at d = 4) never does.
#[test]
fn the_d_sweep_runs_example_j1_in_its_theorems_regime() {
    use sharpening_lab::sharpen::coverage_sweep::{run_sweep, SweepParams};
    let p = SweepParams { structure: Structure::Cube, ds: vec![4, 6], budgets: vec![16, 32, 64, 128, 256], sft_n: vec![1], alpha_scales: vec![0.0, 1.0], seeds: 2, ..Default::default() };
    let r = run_sweep(&p, &mut |_, _| true).unwrap();
    let beta = |d: f64| ((2.0 / d).exp() - 1.0) / (2.0 * ((2f64.powf(d + 1.0)) / 0.1).ln());
    let c = [4.0f64, 6.0].iter().map(|&d| ((1.0 + 1.0 / beta(d)) / (d * d.ln())).ceil()).fold(1.0, f64::max);
    assert_eq!(r.c, c);
    assert_eq!(r.sweep.len(), 2);
    for row in &r.sweep {
        let d = row.d as f64;
        assert!((row.beta - beta(d)).abs() < 1e-12, "d {d}: beta {} vs {}", row.beta, beta(d));
        assert!((row.b - c * d * d.ln()).abs() < 1e-9);
        assert!((row.closed_form_norm - (1.0 + 1.0 / row.beta)).abs() < 1e-6 && row.closed_form_norm <= row.b, "pi*_beta is in the class");
        // pi*_beta(y*) = prod over tokens of sigma(2 (1 + 1/beta) / d).
        let cf = (1.0 / (1.0 + (-2.0 * (1.0 + 1.0 / row.beta) / d).exp())).powf(d);
        assert!((row.closed_form_p_star - cf).abs() < 1e-9, "{} vs {cf}", row.closed_form_p_star);
        let log_z = d * ((1.0 / d).exp() + (-1.0 / d).exp()).ln();
        let r_max = 1.0 + 1.0 + log_z;
        let t = 128.0f64;
        let paper = row.beta / (row.b + d * 2f64.ln()) * ((d * (row.b * d * t / 0.01).ln() + (t / 0.1).ln()) / (d * t * t.ln())).sqrt();
        let want = paper * ((1.0 + row.beta) * r_max).powi(2) / row.beta;
        assert!((row.alpha_thm_j3 - want).abs() < 1e-12 * want.max(1.0), "alpha {} vs {want}", row.alpha_thm_j3);
        let m = |name: &str, scale: Option<f64>| row.methods.iter().find(|m| m.method == name && m.alpha_scale == scale).unwrap();
        let alg1 = m("rlhf_online", Some(0.0));
        assert!(alg1.samples_to_sharpen.is_some_and(|s| s <= 256), "d {d}: {alg1:?}");
        assert_eq!(alg1.samples_to_sharpen, alg1.samples_to_sharpen_seeds.iter().map(|s| s.unwrap()).max());
        assert!((m("rlhf_online", Some(1.0)).alpha.unwrap() - row.alpha_thm_j3).abs() < 1e-15);
        let sft1 = m("sft", None);
        assert_eq!(sft1.samples_to_sharpen, None, "d {d}: {sft1:?}");
        assert!((sft1.bon_p_star.unwrap() - 1.0 / row.c_cov).abs() < 1e-12, "BoN_1 is pi_base");
    }
}
