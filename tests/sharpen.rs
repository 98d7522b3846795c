//! Best-of-N against its theory and SFT-Sharpening raising pi(y*), on the
//! built-in main task.

use sharpening_lab::builtin;
use sharpening_lab::reward::Reward;
use sharpening_lab::sharpen::{run_bon, run_sft, BonParams, SftParams};
use sharpening_lab::tasks::by_name;

#[test]
fn bon_loglik_rate_matches_one_minus_one_minus_p_to_the_n() {
    let model = builtin::load("add").unwrap();
    let task = by_name("add").unwrap();
    let p = BonParams { n: vec![1, 2, 4, 16], prompts: 60, rewards: vec![Reward::Loglik], seed: 3, ..Default::default() };
    let r = run_bon(&model, task.as_ref(), &p, &mut |_, _| true).unwrap();
    for row in &r.rows {
        // Each trial picks y* with probability theory_i (prompt i); the rate's
        // standard error is at most sqrt(0.25 / trials) (trials are not all
        // independent across N, but each row's are). Allow 4 standard errors.
        let se = (0.25 / row.trials as f64).sqrt();
        assert!(
            (row.y_star_rate - row.y_star_theory).abs() < 4.0 * se + 0.01,
            "N={}: measured {} vs theory {} ({} trials)", row.n, row.y_star_rate, row.y_star_theory, row.trials
        );
        assert!(row.pass_at_n + 1e-12 >= row.accuracy, "pass@N bounds any selection");
    }
    assert!(r.rows[3].y_star_theory > r.rows[0].y_star_theory);
}

#[test]
fn sft_raises_p_star_and_cancel_works() {
    let model = builtin::load("add").unwrap();
    let task = by_name("add").unwrap();
    let p = SftParams { prompts: 24, n: 8, steps: 30, eval_every: 15, seed: 1, ..Default::default() };
    let r = run_sft(&model, task.as_ref(), &p, &mut |_, _| true).unwrap();
    let (first, last) = (&r.steps[0], r.steps.last().unwrap());
    assert_eq!(first.step, 0);
    assert!(first.kl.abs() < 1e-9, "step 0 is the base model, KL {}", first.kl);
    assert_eq!(last.step, 30);
    assert!(last.p_star > first.p_star + 0.1, "pi(y*) {} -> {}", first.p_star, last.p_star);
    assert!(last.kl > 0.05 && last.entropy < first.entropy);
    let mut calls = 0;
    let e = run_sft(&model, task.as_ref(), &p, &mut |_, _| {
        calls += 1;
        calls < 5
    });
    assert!(e.is_err(), "cancel must stop the run");
}

#[test]
fn explorer_token_scores_add_up_to_each_samples_log_likelihood() {
    use sharpening_lab::sharpen::explore::{explore, ExploreParams};
    let model = builtin::load("add").unwrap();
    let task = by_name("add").unwrap();
    let p = ExploreParams { prompt: "39+25=".into(), n: 12, ..Default::default() };
    let r = explore(&model, task.as_ref(), &p).unwrap();
    assert_eq!(r.token_logps.len(), r.samples.len());
    for (toks, s) in r.token_logps.iter().zip(&r.samples) {
        let sum: f64 = toks.iter().map(|t| t.logp).sum();
        assert_eq!(toks.len(), s.tokens.len() + usize::from(s.complete));
        assert!((sum - s.logp_base).abs() < 1e-4, "per-token sum {sum} vs log pi {}", s.logp_base);
        let text: String = toks.iter().filter(|t| t.text != model.tok.piece(model.tok.eos)).map(|t| t.text.as_str()).collect();
        assert_eq!(text, s.text);
    }
}
