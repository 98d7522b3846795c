//! `sharpen complexity`: its numbers against direct computations written
//! here, best-of-N never above Thm 4.1's N, SFT rows consistent with the
//! grid, and (the page's export: tests/suite/page_jobs.rs).

use sharpening_lab::rng::{Rng, Stream};
use sharpening_lab::sharpen::complexity::{bon_n, run_complexity, thm41, ComplexityParams, ComplexityReport};
use sharpening_lab::sharpen::exact::enumerate;
use sharpening_lab::tasks;

fn small(gamma: f64) -> ComplexityParams {
    ComplexityParams { prompts: 16, sft_n: vec![1, 4], sft_prompts: vec![8, 16], sft_steps: 20, gamma, ..ComplexityParams::default() }
}

fn run(p: &ComplexityParams) -> ComplexityReport {
    let model = sharpening_lab::builtin::load("add").unwrap();
    let task = tasks::by_name("add").unwrap();
    run_complexity(&model, task.as_ref(), p, &mut |_, _| true).unwrap()
}

/// Best-of-N's N for one target, by walking N up from 1: the share of
/// prompts with `1 - (1 - p)^N >= 1 - delta` must reach `1 - eps`.
fn bon_n_by_walking(p: &[f64], eps: f64, delta: f64) -> usize {
    (1..).find(|&n| p.iter().filter(|&&x| 1.0 - (1.0 - x).powi(n as i32) >= 1.0 - delta).count() as f64 >= (1.0 - eps) * p.len() as f64 - 1e-9).unwrap()
}

#[test]
fn complexity_numbers_equal_a_direct_computation() {
    let p = small(0.0);
    let r = run(&p);
    assert_eq!(r.prompts, 16);
    assert!(r.exact, "the add model's enumeration certifies every y*");
    // Each prompt's pi_base(y*) from an independent enumeration at a finer threshold.
    let model = sharpening_lab::builtin::load("add").unwrap();
    let ids: Vec<Vec<u32>> = r.per_prompt.iter().map(|q| model.tok.encode_prompt(&q.prompt).unwrap()).collect();
    let dists = enumerate(&model.llama, &ids, model.tok.eos, 4, 1e-6).unwrap();
    for (q, d) in r.per_prompt.iter().zip(&dists) {
        let top = d.y_star().unwrap();
        assert_eq!(q.y_star, model.tok.decode(&top.tokens).unwrap());
        assert!((q.p_star - top.logp.exp()).abs() < 1e-9, "{}: {} vs {}", q.prompt, q.p_star, top.logp.exp());
        assert_eq!(q.p_star, q.p_star_gamma, "gamma = 0: y*_gamma is y*");
    }
    let ps: Vec<f64> = r.per_prompt.iter().map(|q| q.p_star).collect();
    let c_cov = ps.iter().map(|x| 1.0 / x).sum::<f64>() / ps.len() as f64;
    assert!((r.c_cov - c_cov).abs() < 1e-12);
    assert_eq!(r.rows.len(), p.eps.len() * p.delta.len());
    for row in &r.rows {
        assert_eq!(row.bon_n, bon_n_by_walking(&ps, row.eps, row.delta), "eps {} delta {}", row.eps, row.delta);
        assert!((row.thm41_n - c_cov * (2.0 / row.delta).ln() / row.eps).abs() < 1e-9);
        assert!((row.thm41_prompts - (r.log_class + 20f64.ln()) / (row.delta * row.eps)).abs() < 1e-6 * row.thm41_prompts);
        let m31 = c_cov * r.log_class / (row.eps * row.eps * (1.0 + (c_cov / row.eps).ln()));
        assert!((row.thm31_m - m31).abs() < 1e-6 * m31);
        assert!(row.bon_n as f64 <= row.thm41_n.ceil(), "best-of-N needs {} > Thm 4.1's {}", row.bon_n, row.thm41_n);
        // The SFT choice: sharpened, and no cheaper run of the grid is.
        let sharp = |pe: &[f64]| pe.iter().filter(|&&x| x >= 1.0 - row.delta).count() as f64 >= (1.0 - row.eps) * pe.len() as f64 - 1e-9;
        let cheapest = r.sft.iter().filter(|s| sharp(&s.p_star_eval)).map(|s| (s.samples, s.n)).min();
        assert_eq!(cheapest.map(|c| c.0), row.sft_samples);
        assert_eq!(cheapest.map(|c| c.1), row.sft_n);
    }
    // The grid: every run scored on every evaluation prompt.
    assert_eq!(r.sft.len(), 4);
    for s in &r.sft {
        assert_eq!(s.p_star_eval.len(), 16);
        assert_eq!(s.samples, s.n * s.prompts);
        assert!(s.p_star_eval.iter().all(|x| (0.0..=1.0 + 1e-9).contains(x)));
    }
    // N needed grows as delta shrinks (at fixed eps) and as eps shrinks (at fixed delta).
    for a in &r.rows {
        for b in &r.rows {
            if a.eps == b.eps && a.delta <= b.delta || a.delta == b.delta && a.eps <= b.eps {
                assert!(a.bon_n >= b.bon_n);
            }
        }
    }
}

#[test]
fn approximate_sharpening_puts_more_answers_in_y_star_gamma() {
    let r0 = run(&ComplexityParams { sft_n: vec![1], sft_prompts: vec![4], sft_steps: 1, ..small(0.0) });
    let r = run(&ComplexityParams { sft_n: vec![1], sft_prompts: vec![4], sft_steps: 1, ..small(0.6) });
    let model = sharpening_lab::builtin::load("add").unwrap();
    let ids: Vec<Vec<u32>> = r.per_prompt.iter().map(|q| model.tok.encode_prompt(&q.prompt).unwrap()).collect();
    let dists = enumerate(&model.llama, &ids, model.tok.eos, 4, 1e-4).unwrap();
    for (q, d) in r.per_prompt.iter().zip(&dists) {
        let top = d.answers[0].logp.exp();
        let want: f64 = d.answers.iter().map(|a| a.logp.exp()).filter(|&x| x >= 0.4 * top).sum();
        assert!((q.p_star_gamma - want).abs() < 1e-9, "{}", q.prompt);
        assert!(q.p_star_gamma >= q.p_star);
    }
    assert!(r.c_cov_gamma <= r.c_cov + 1e-12 && (r.c_cov - r0.c_cov).abs() < 1e-12);
    assert!(r.per_prompt.iter().any(|q| q.p_star_gamma > q.p_star), "gamma 0.6 adds a runner-up somewhere");
    for (a, b) in r.rows.iter().zip(&r0.rows) {
        assert!(a.bon_n <= b.bon_n, "a larger target set is never harder to hit");
    }
}

#[test]
fn best_of_n_never_needs_more_than_theorem_4_1() {
    // Random coverage profiles, including heavy tails: with c = 1 the
    // Markov argument bounds best-of-N's N by Thm 4.1's.
    let mut rng = Rng::new(7, Stream::Fixture { a: 3, b: 0 }).unwrap();
    for _ in 0..200 {
        let n = 1 + rng.below(60) as usize;
        let ps: Vec<f64> = (0..n).map(|_| 10f64.powf(-2.5 * rng.uniform()).min(1.0)).collect();
        let c_cov = ps.iter().map(|x| 1.0 / x).sum::<f64>() / n as f64;
        for eps in [0.01, 0.05, 0.1, 0.3, 0.5] {
            for delta in [0.01, 0.05, 0.1, 0.3, 0.5] {
                let got = bon_n(&ps, eps, delta);
                assert_eq!(got, bon_n_by_walking(&ps, eps, delta));
                let (n41, _) = thm41(c_cov, 1.0, 0.05, eps, delta);
                assert!(got as f64 <= n41.ceil(), "N {got} > Thm 4.1 {n41} (C_cov {c_cov}, eps {eps}, delta {delta})");
            }
        }
    }
}

#[test]
fn bad_parameters_are_refused_with_a_message() {
    let model = sharpening_lab::builtin::load("mul").unwrap();
    let task = tasks::by_name("mul").unwrap();
    let cases = [
        (ComplexityParams { eps: vec![0.0], ..ComplexityParams::default() }, "eps"),
        (ComplexityParams { delta: vec![1.5], ..ComplexityParams::default() }, "delta"),
        (ComplexityParams { gamma: 1.0, ..ComplexityParams::default() }, "gamma"),
        (ComplexityParams { sft_n: vec![], ..ComplexityParams::default() }, "SFT sample counts"),
        (ComplexityParams { log_class: Some(-1.0), ..ComplexityParams::default() }, "log |Pi|"),
        (ComplexityParams { prompts: 100, sft_prompts: vec![100], ..ComplexityParams::default() }, "too few"),
    ];
    for (p, want) in cases {
        let e = run_complexity(&model, task.as_ref(), &p, &mut |_, _| true).unwrap_err().to_string();
        assert!(e.contains(want), "{e}");
    }
}
