//! The length-matters task `echo`: its corpus written out from the
//! definition, and on its shipped model the two log-likelihood self-rewards
//! pick different answers (best-of-N by total log-likelihood converges on
//! the short wrong answer, by the length-normalised one on the right one).

use sharpening_lab::builtin;
use sharpening_lab::reward::Reward;
use sharpening_lab::sharpen::{run_bon, BonParams};
use sharpening_lab::tasks::{by_name, Echo, Task};

#[test]
fn the_corpus_prefers_short_in_total_and_long_per_token() {
    for i in [0, 47, 99] {
        let answers = Echo::corpus_answers(i);
        assert!((answers.iter().map(|a| a.1).sum::<f64>() - 1.0).abs() < 1e-12);
        let q = Echo.problem(i);
        let total = |a: &(String, f64)| a.1.ln();
        // Per token, </s> included (the loglik_norm self-reward).
        let norm = |a: &(String, f64)| a.1.ln() / (a.0.len() + 1) as f64;
        let best = |f: &dyn Fn(&(String, f64)) -> f64| answers.iter().max_by(|a, b| f(a).total_cmp(&f(b))).unwrap().0.clone();
        assert_eq!(best(&total).len(), 1, "total log-likelihood prefers the one-digit answer");
        assert_eq!(best(&norm), q.answer, "the normalised one prefers the full answer");
        assert_eq!(Echo.parse(&q.prompt).unwrap(), q);
    }
    assert!(Echo.parse("4:").is_err() && Echo.parse("477:").is_err() && Echo.parse("4a:").is_err());
}

#[test]
fn the_two_loglik_rewards_pick_different_answers_on_the_shipped_model() {
    let model = builtin::load("echo").unwrap();
    let task = by_name("echo").unwrap();
    let p = BonParams { n: vec![16], prompts: 40, rewards: vec![Reward::Loglik, Reward::LoglikNorm], ..Default::default() };
    let r = run_bon(&model, task.as_ref(), &p, &mut |_, _| true).unwrap();
    let row = |rw: Reward| r.rows.iter().find(|x| x.reward == rw).unwrap();
    let (total, norm) = (row(Reward::Loglik), row(Reward::LoglikNorm));
    assert!(total.accuracy < 0.05, "best-of-16 by total log-likelihood picks the short answer: accuracy {}", total.accuracy);
    assert!(norm.accuracy > 0.9, "by length-normalised log-likelihood the full one: accuracy {}", norm.accuracy);
    assert!(total.y_star_rate > 0.9, "the short answer is y*: {}", total.y_star_rate);
}
