//! Exact enumeration: the listed answers plus the leftover sum to 1, and the
//! listed probabilities equal direct scoring.

mod common;

use sharpening_lab::score::{score, Scored};
use sharpening_lab::sharpen::enumerate;
use sharpening_lab::sharpen::metrics::{bon_theory, coverage, kl, sharpened_fraction};

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
    assert!((bon_theory(0.2, 3) - (1.0 - 0.8f64.powi(3))).abs() < 1e-12);
    let t = common::tiny(5, 1.0);
    let m = &t.model;
    let p = m.tok.encode_prompt("1").unwrap();
    let d = enumerate(&m.llama, &[p], m.tok.eos, 2, 1e-6).unwrap().remove(0);
    let self_kl = kl(&d, |tok| d.answers.iter().find(|a| a.tokens == tok).unwrap().logp);
    assert!(self_kl.abs() < 1e-12, "KL of a distribution to itself is {self_kl}");
    assert!(enumerate(&m.llama, &[vec![1]], m.tok.eos, 2, 0.0).is_err(), "threshold 0 must be rejected");
}
