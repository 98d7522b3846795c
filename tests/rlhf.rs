//! RLHF-Sharpening and the theory views: the Eq. 8 loss and its gradient by
//! hand, the closed form's limits, convergence towards the closed form, the
//! token- vs sequence-level comparison and the generation-verification gap.

use candle_core::{Device, Tensor, Var};
use sharpening_lab::builtin;
use sharpening_lab::sharpen::closed_form::{closed_form, compare, log_closed_form_z, sequence_temperature};
use sharpening_lab::sharpen::exact::{Answer, Distribution};
use sharpening_lab::sharpen::gap::generation_verification_gap;
use sharpening_lab::sharpen::rlhf::eq8_loss;
use sharpening_lab::sharpen::{run_rlhf, RlhfParams};
use sharpening_lab::tasks::by_name;

#[test]
fn eq8_loss_and_gradient_by_hand() {
    // One pair: log pi(y) = -1, log pi(y') = -2, log pi_base(y) = -1.5,
    // log pi_base(y') = -1, beta = 0.5. Eq. 8's residual:
    // 0.5 (-1 + 1.5) - 0.5 (-2 + 1) - (-1.5 + 1) = 0.25 + 0.5 + 0.5 = 1.25.
    let dev = Device::Cpu;
    let a = Var::from_tensor(&Tensor::new(&[-1f32], &dev).unwrap()).unwrap();
    let b = Var::from_tensor(&Tensor::new(&[-2f32], &dev).unwrap()).unwrap();
    let loss = eq8_loss(a.as_tensor(), b.as_tensor(), &[-1.5], &[-1.0], 0.5, 0.0).unwrap();
    let l = loss.to_scalar::<f32>().unwrap();
    assert!((l - 1.5625).abs() < 1e-6, "loss {l}");
    let g = loss.backward().unwrap();
    // d/d lp_y = 2 * 1.25 * beta = 1.25; d/d lp_y' = -1.25.
    let ga = g.get(&a).unwrap().to_vec1::<f32>().unwrap()[0];
    let gb = g.get(&b).unwrap().to_vec1::<f32>().unwrap()[0];
    assert!((ga - 1.25).abs() < 1e-6 && (gb + 1.25).abs() < 1e-6, "{ga} {gb}");
    // Two pairs average; the optimism term adds alpha * mean log pi(y').
    let a2 = Tensor::new(&[-1f32, -3.0], &dev).unwrap();
    let b2 = Tensor::new(&[-2f32, -1.0], &dev).unwrap();
    let l2 = eq8_loss(&a2, &b2, &[-1.5, -2.0], &[-1.0, -1.0], 0.5, 0.1).unwrap().to_scalar::<f32>().unwrap();
    // pair 2: 0.5 (-3 + 1) - 1.5 (-2 + 1) = -1 + 1.5 = 0.5 -> 0.25; mean (1.5625 + 0.25) / 2 = 0.90625; + 0.1 * (-1.5).
    assert!((l2 - (0.90625 - 0.15)).abs() < 1e-6, "{l2}");
    // At the closed form the loss vanishes: log pi = (1 + 1/beta) log pi_base - log Z.
    let (lb1, lb2, beta) = (-0.7f64, -2.3f64, 0.8f64);
    let e = 1.0 + 1.0 / beta;
    let at = |x: f64| Tensor::new(&[(e * x - 0.4) as f32], &dev).unwrap();
    let l0 = eq8_loss(&at(lb1), &at(lb2), &[lb1], &[lb2], beta, 0.0).unwrap().to_scalar::<f32>().unwrap();
    assert!(l0 < 1e-10, "{l0}");
}

fn dist(ps: &[f64]) -> Distribution {
    Distribution { answers: ps.iter().enumerate().map(|(i, p)| Answer { tokens: vec![i as u32], logp: p.ln() }).collect(), leftover: 0.0 }
}

#[test]
fn closed_form_limits() {
    let base = dist(&[0.5, 0.3, 0.15, 0.05]);
    // beta -> infinity: pi_base itself.
    let big = closed_form(&base, 1e9);
    for (a, b) in big.answers.iter().zip(&base.answers) {
        assert!((a.logp.exp() - b.logp.exp()).abs() < 1e-6);
    }
    // small beta: (almost) all mass on y*.
    let small = closed_form(&base, 0.02);
    assert!(small.answers[0].logp.exp() > 0.999_99, "{}", small.answers[0].logp.exp());
    // beta = 1: pi_base^2 normalised.
    let one = closed_form(&base, 1.0);
    let z: f64 = [0.25, 0.09, 0.0225, 0.0025].iter().sum();
    assert!((one.answers[1].logp.exp() - 0.09 / z).abs() < 1e-12);
    assert!((log_closed_form_z(&base, 1.0) - z.ln()).abs() < 1e-12);
    assert!((one.listed_mass() - 1.0).abs() < 1e-12);
    assert_eq!(sequence_temperature(1.0), 0.5);
}

#[test]
fn rlhf_converges_towards_the_closed_form() {
    let model = builtin::load("add").unwrap();
    let task = by_name("add").unwrap();
    let p = RlhfParams { prompts: 8, steps: 120, pairs: 16, eval_every: 40, seed: 4, ..Default::default() };
    let r = run_rlhf(&model, task.as_ref(), &p, &mut |_, _| true).unwrap();
    let kls: Vec<f64> = r.steps.iter().map(|s| s.kl_to_closed_form).collect();
    assert_eq!(r.steps.len(), 4);
    assert!(kls.windows(2).all(|w| w[1] < w[0]), "KL to the closed form must fall: {kls:?}");
    assert!(*kls.last().unwrap() < 0.05, "final KL {kls:?}");
    assert!(kls[0] > 0.2, "the base model is far from pi_base^2: {kls:?}");
    let (first, last) = (&r.steps[0].metrics, &r.steps.last().unwrap().metrics);
    assert!(last.p_star > first.p_star + 0.1, "sharpening: pi(y*) {} -> {}", first.p_star, last.p_star);
    assert_eq!(r.steps.last().unwrap().samples_drawn, 2 * 16 * 120);
    // Online variant runs and sharpens too.
    let online = RlhfParams { online: true, alpha: 0.01, steps: 40, ..p };
    let r = run_rlhf(&model, task.as_ref(), &online, &mut |_, _| true).unwrap();
    assert!(r.steps.last().unwrap().metrics.p_star > r.steps[0].metrics.p_star);
    assert_eq!(r.steps.last().unwrap().samples_drawn, 16 * 40, "online draws one base sample per pair");
}

#[test]
fn token_temperature_is_not_the_closed_form() {
    let model = builtin::load("add").unwrap();
    let task = by_name("add").unwrap();
    let r = compare(&model, task.as_ref(), "19+23=", 1.0, 1e-6, 200).unwrap();
    let sum = |f: fn(&sharpening_lab::sharpen::closed_form::CompareRow) -> f64| r.rows.iter().map(f).sum::<f64>();
    assert!((sum(|x| x.p_closed_form) - 1.0).abs() < 1e-9);
    assert!(sum(|x| x.p_token_temp) > 0.99 && sum(|x| x.p_base) > 0.99);
    assert!(r.kl_token_to_closed_form > 0.0, "they differ: {}", r.kl_token_to_closed_form);
    assert!(r.kl_token_scan_max >= r.kl_token_scan_mean && r.kl_token_scan_max > 1e-3, "{} {}", r.kl_token_scan_mean, r.kl_token_scan_max);
    // Sharper than the base on y*, both ways.
    let y = &r.rows[0];
    assert!(y.p_closed_form > y.p_base && y.p_token_temp > y.p_base);
    assert_eq!(r.scanned, 200);
    for m in &r.greedy_misses {
        assert!(m.p_greedy < m.p_star, "a miss is an answer less likely than y*");
    }
}

#[test]
fn generation_verification_gap_is_measured() {
    let model = builtin::load("add").unwrap();
    let task = by_name("add").unwrap();
    let g = generation_verification_gap(&model, task.as_ref(), 40, 0, 1e-4).unwrap();
    assert!((0.3..0.6).contains(&g.sample_accuracy), "{g:?}");
    assert!((0.0..=1.0).contains(&g.verifier_auc) && g.auc_prompts > 30, "{g:?}");
    assert!((g.gap - (g.reweighted_accuracy - g.sample_accuracy)).abs() < 1e-12);
}
