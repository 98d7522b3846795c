//! Exact enumeration: the listed answers plus the leftover sum to 1, and the
//! listed probabilities equal direct scoring.

use crate::common;

use sharpening_lab::score::{score, Scored};
use sharpening_lab::sharpen::enumerate;
use sharpening_lab::sharpen::metrics::{bon_theory, coverage, kl, sharpened_fraction, wilson_interval};

#[test]
fn enumeration_sums_to_one() {
    for (seed, scale, thr) in [(1, 1.0, 1e-4), (2, 0.3, 1e-3), (3, 2.0, 1e-6)] {
        let t = common::tiny(seed, scale);
        let m = &t.model;
        let prompts: Vec<Vec<u32>> = ["1+2", "55", "9"].iter().map(|p| m.tok.encode_prompt(p).unwrap()).collect();
        let dists = enumerate(&m.llama, &prompts, m.tok.eos, 3, thr).unwrap();
        for d in &dists {
            let total = d.listed_mass() + d.leftover;
            assert!((total - 1.0).abs() < 1e-4, "listed {} + leftover {} = {total}", d.listed_mass(), d.leftover);
            assert!(d.answers.windows(2).all(|w| w[0].logp >= w[1].logp), "sorted most likely first");
            assert!(d.answers.iter().all(|a| a.logp.exp() >= thr * 0.999));
        }
    }
}

#[test]
fn listed_probabilities_equal_direct_scores() {
    let t = common::tiny(4, 1.5);
    let m = &t.model;
    let p = m.tok.encode_prompt("3+4").unwrap();
    let d = enumerate(&m.llama, &[p.clone()], m.tok.eos, 3, 1e-5).unwrap().remove(0);
    assert!(!d.answers.is_empty());
    let conts: Vec<Vec<u32>> = d.answers.iter().take(20).map(|a| [a.tokens.as_slice(), &[m.tok.eos]].concat()).collect();
    let items: Vec<Scored> = conts.iter().map(|c| Scored { prompt: &p, continuation: c }).collect();
    for (a, s) in d.answers.iter().zip(score(&m.llama, &items).unwrap()) {
        assert!((a.logp - s).abs() < 1e-4, "{} vs {}", a.logp, s);
    }
}

#[test]
fn metric_formulas() {
    assert!((coverage(&[0.5, 0.25]) - 3.0).abs() < 1e-12);
    assert_eq!(sharpened_fraction(&[0.95, 0.5, 0.91, 0.89], 0.1), 0.5);
    // 1-(1-p)^N against the binomial sum P[at least one success in N].
    for (p, n) in [(0.2f64, 3usize), (0.05, 16), (0.7, 1), (0.999, 64)] {
        let mut binom = 0.0;
        let mut c = 1.0; // C(n, k)
        for k in 1..=n {
            c = c * (n - k + 1) as f64 / k as f64;
            binom += c * p.powi(k as i32) * (1.0 - p).powi((n - k) as i32);
        }
        assert!((bon_theory(p, n) - binom).abs() < 1e-12, "p {p} N {n}: {} vs {binom}", bon_theory(p, n));
    }
    // KL of two small distributions, by hand: 0.5 ln(0.5/0.25) + 0.5 ln(0.5/0.75).
    let d = |ps: &[f64]| sharpening_lab::sharpen::Distribution {
        answers: ps.iter().enumerate().map(|(i, p)| sharpening_lab::sharpen::exact::Answer { tokens: vec![i as u32], logp: p.ln() }).collect(),
        leftover: 0.0,
    };
    let (pi, base) = (d(&[0.5, 0.5]), d(&[0.25, 0.75]));
    let want = 0.5 * 2f64.ln() + 0.5 * (2.0f64 / 3.0).ln();
    let got = kl(&pi, |t| base.answers[t[0] as usize].logp);
    assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    // The Wilson interval of 8 of 10 (Wilson 1927): [0.4902, 0.9433].
    let w = wilson_interval(8, 10);
    assert!((w[0] - 0.4902).abs() < 1e-4 && (w[1] - 0.9433).abs() < 1e-4, "{w:?}");
    assert_eq!(wilson_interval(0, 0), [0.0, 1.0]);
    let t = common::tiny(5, 1.0);
    assert!(enumerate(&t.model.llama, &[vec![1]], t.model.tok.eos, 2, 0.0).is_err(), "threshold 0 must be rejected");
}

/// A listing certifies y* only when its unlisted mass is below pi(y*).
#[test]
fn y_star_is_certified_only_when_the_leftover_is_smaller() {
    use sharpening_lab::sharpen::exact::Answer;
    let d = |p: f64, leftover: f64| sharpening_lab::sharpen::Distribution { answers: vec![Answer { tokens: vec![1], logp: p.ln() }], leftover };
    assert!(d(0.3, 0.29).certifies_y_star());
    assert!(!d(0.3, 0.3).certifies_y_star());
    assert!(!d(0.1, 0.9).certifies_y_star());
    // On the built-in model with a coarse threshold some prompt is not certified.
    let model = sharpening_lab::builtin::load("add").unwrap();
    let task = sharpening_lab::tasks::by_name("add").unwrap();
    let p = sharpening_lab::sharpen::BonParams { n: vec![1], prompts: 40, threshold: 0.2, rewards: vec![sharpening_lab::reward::Reward::Loglik], ..Default::default() };
    let r = sharpening_lab::sharpen::run_bon(&model, task.as_ref(), &p, &mut |_, _| true).unwrap();
    let flagged = r.per_prompt.iter().filter(|f| !f.certified).count();
    assert_eq!(r.uncertified_prompts, flagged);
    assert!(flagged > 0, "threshold 0.2 leaves most mass unlisted");
    let fine = sharpening_lab::sharpen::BonParams { threshold: 1e-5, ..p };
    assert_eq!(sharpening_lab::sharpen::run_bon(&model, task.as_ref(), &fine, &mut |_, _| true).unwrap().uncertified_prompts, 0);
}
