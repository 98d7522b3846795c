//! `sharpen margin`: margins, the beta each prompt needs and the closed
//! form's sweep against direct computations written here; the bound from the
//! margin never above the exact beta; (the page's export: tests/suite/page_jobs.rs).

use sharpening_lab::sharpen::bon::choose_problems;
use sharpening_lab::sharpen::exact::enumerate;
use sharpening_lab::sharpen::margin::{run_margin, MarginParams, MarginReport, BETA_MAX};
use sharpening_lab::tasks;

fn run(p: &MarginParams) -> MarginReport {
    let model = sharpening_lab::builtin::load("add").unwrap();
    let task = tasks::by_name("add").unwrap();
    run_margin(&model, task.as_ref(), p, &mut |_, _| true).unwrap()
}

#[test]
fn margins_and_betas_equal_a_direct_computation() {
    let p = MarginParams { prompts: 24, rlhf_steps: 0, seed: 3, ..MarginParams::default() };
    let r = run(&p);
    let model = sharpening_lab::builtin::load("add").unwrap();
    let task = tasks::by_name("add").unwrap();
    let problems = choose_problems(task.as_ref(), 24, 3);
    let ids: Vec<Vec<u32>> = problems.iter().map(|q| model.tok.encode_prompt(&q.prompt).unwrap()).collect();
    let dists = enumerate(&model.llama, &ids, model.tok.eos, 4, 1e-4).unwrap();
    // pi*_beta(y*) with the unlisted mass counted against y*, written out.
    let cf = |i: usize, beta: f64| {
        let e = 1.0 + 1.0 / beta;
        let ps: Vec<f64> = dists[i].answers.iter().map(|a| a.logp.exp()).collect();
        ps[0].powf(e) / (ps.iter().map(|x| x.powf(e)).sum::<f64>() + dists[i].leftover.powf(e))
    };
    for (i, m) in r.per_prompt.iter().enumerate() {
        assert_eq!(m.prompt, problems[i].prompt);
        let ps: Vec<f64> = dists[i].answers.iter().map(|a| a.logp.exp()).collect();
        assert!((m.p_star - ps[0]).abs() < 1e-12);
        let second = ps[1].max(dists[i].leftover);
        assert!((m.margin - (ps[0] / second - 1.0)).abs() < 1e-9);
        assert!((m.ratio_sum_beta1 - ps[1..].iter().map(|x| (x / ps[0]).powi(2)).sum::<f64>()).abs() < 1e-9);
        if m.beta_needed > 0.0 && m.beta_needed < BETA_MAX {
            assert!(cf(i, m.beta_needed * (1.0 - 1e-6)) >= 0.9, "{}: below beta_needed it is sharpened", m.prompt);
            assert!(cf(i, m.beta_needed * (1.0 + 1e-6)) < 0.9, "{}: above beta_needed it is not", m.prompt);
        }
        assert!(m.beta_from_margin <= m.beta_needed * (1.0 + 1e-9), "{}: the margin's guarantee {} exceeds the exact {}", m.prompt, m.beta_from_margin, m.beta_needed);
    }
    // The sweep: shares counted directly, never rising with beta.
    for s in &r.sweep {
        let want = (0..24).filter(|&i| cf(i, s.beta) >= 0.9).count() as f64 / 24.0;
        assert_eq!(s.sharpened, want, "beta {}", s.beta);
    }
    for w in r.sweep.windows(2) {
        assert!(w[0].beta < w[1].beta && w[0].sharpened >= w[1].sharpened && w[0].p_star >= w[1].p_star);
    }
    // beta_for_eps: the closed form is (eps, delta)-sharpened there and not above it.
    let share = |b: f64| (0..24).filter(|&i| cf(i, b) >= 0.9).count() as f64 / 24.0;
    assert!(share(r.beta_for_eps * (1.0 - 1e-6)) >= 0.9 - 1e-12);
    assert!(share(r.beta_for_eps * (1.0 + 1e-5)) < 0.9);
    // At beta = 1 a prompt is sharpened iff sum (p/p*)^2 <= delta/(1-delta), up to the unlisted mass.
    let at1 = r.sweep.iter().find(|s| s.beta == 1.0).unwrap();
    let by_ratio = r.per_prompt.iter().filter(|m| m.ratio_sum_beta1 <= 0.1 / 0.9).count() as f64 / 24.0;
    assert!(at1.sharpened <= by_ratio);
    assert!(r.trained.is_empty(), "0 RLHF steps: the closed form only");
}

#[test]
fn trained_rlhf_rows_sit_beside_the_closed_form() {
    let p = MarginParams { prompts: 8, betas: vec![0.5, 1.0], train_betas: vec![1.0], rlhf_steps: 6, ..MarginParams::default() };
    let r = run(&p);
    assert_eq!(r.trained.len(), 1);
    let t = &r.trained[0];
    assert_eq!(t.steps, 6);
    assert_eq!(t.closed_form_sharpened, r.sweep[1].sharpened);
    assert!(t.kl_to_closed_form.is_finite() && (0.0..=1.0).contains(&t.sharpened));
    let e = run_margin(
        &sharpening_lab::builtin::load("add").unwrap(),
        tasks::by_name("add").unwrap().as_ref(),
        &MarginParams { betas: vec![0.0], ..MarginParams::default() },
        &mut |_, _| true,
    )
    .unwrap_err();
    assert!(e.to_string().contains("betas"), "{e}");
}
