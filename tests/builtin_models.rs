//! The shipped models load, match their training cards, and reproduce the
//! documented base metrics (which make the sharpening phenomenon real).

use sharpening_lab::builtin;
use sharpening_lab::model::bundle::sha256_hex;
use sharpening_lab::sharpen::card::{card_metrics, CardMetrics};
use sharpening_lab::tasks::by_name;

fn card(task: &str) -> serde_json::Value {
    serde_json::from_slice(builtin::files(task).unwrap().card).unwrap()
}

#[test]
fn shipped_models_reproduce_their_cards() {
    for task in ["add", "mul"] {
        let files = builtin::files(task).unwrap();
        let c = card(task);
        assert_eq!(c["weights_sha256"], sha256_hex(files.weights), "{task}: card hash");
        let cfg: serde_json::Value = serde_json::from_slice(files.config).unwrap();
        assert_eq!(c["config"], cfg, "{task}: card config");
        assert!(files.weights.len() < 3 << 20, "{task}: weights must stay a couple of MB");
        let model = builtin::load(task).unwrap();
        let t = by_name(task).unwrap();
        let got = card_metrics(&model, t.as_ref()).unwrap();
        let want: CardMetrics = serde_json::from_value(c["base_metrics"].clone()).unwrap();
        assert_eq!((got.prompts, got.marked_prompts), (want.prompts, want.marked_prompts));
        for (name, g, w) in [
            ("sample_accuracy", got.sample_accuracy, want.sample_accuracy),
            ("sample_accuracy_marked", got.sample_accuracy_marked, want.sample_accuracy_marked),
            ("y_star_accuracy", got.y_star_accuracy, want.y_star_accuracy),
            ("y_star_accuracy_marked", got.y_star_accuracy_marked, want.y_star_accuracy_marked),
            ("p_star", got.p_star, want.p_star),
            ("c_cov", got.c_cov, want.c_cov),
        ] {
            assert!((g - w).abs() < 1e-6 * w.abs().max(1.0), "{task} {name}: measured {g}, card says {w}");
        }
    }
}

#[test]
fn main_model_shows_the_sharpening_gap() {
    let m: CardMetrics = serde_json::from_value(card("add")["base_metrics"].clone()).unwrap();
    assert!((0.3..=0.6).contains(&m.sample_accuracy), "a random sample is right {} of the time", m.sample_accuracy);
    assert!(m.y_star_accuracy >= 0.85, "the most likely answer is right on only {}", m.y_star_accuracy);
    assert!(m.marked_prompts > 0 && m.y_star_accuracy_marked <= 0.3, "marked prompts: y* right on {}", m.y_star_accuracy_marked);
}

#[test]
fn best_of_16_by_loglik_beats_a_single_sample() {
    use sharpening_lab::reward::Reward;
    use sharpening_lab::sharpen::{run_bon, BonParams};
    let model = builtin::load("add").unwrap();
    let task = by_name("add").unwrap();
    let p = BonParams { n: vec![1, 16], prompts: 200, rewards: vec![Reward::Loglik], ..Default::default() };
    let r = run_bon(&model, task.as_ref(), &p, &mut |_, _| true).unwrap();
    let (one, sixteen) = (&r.rows[0], &r.rows[1]);
    assert!((0.3..=0.6).contains(&one.accuracy), "single-sample accuracy {}", one.accuracy);
    assert!(sixteen.accuracy >= 0.85, "best-of-16 accuracy {}", sixteen.accuracy);
    let marked = sixteen.accuracy_marked.expect("the default prompt set has marked prompts");
    assert!(marked < one.accuracy_marked.unwrap(), "on marked prompts BoN must amplify the error: {marked}");
}

#[test]
fn sft_with_defaults_raises_accuracy_by_25_points_and_amplifies_wrong_modes() {
    use sharpening_lab::sharpen::{run_sft, SftParams};
    let model = builtin::load("add").unwrap();
    let task = by_name("add").unwrap();
    let r = run_sft(&model, task.as_ref(), &SftParams::default(), &mut |_, _| true).unwrap();
    let (first, last) = (&r.steps[0], r.steps.last().unwrap());
    assert!(last.accuracy - first.accuracy >= 0.25, "accuracy {} -> {}", first.accuracy, last.accuracy);
    assert!(r.wrong_mode_prompts > 0, "the default prompt set must contain wrong-mode prompts");
    let (w0, w1) = (first.p_star_wrong.unwrap(), last.p_star_wrong.unwrap());
    assert!(w1 > w0 + 0.2, "mass on wrong modes must grow: {w0} -> {w1}");
    assert!(last.accuracy_marked.unwrap() < first.accuracy_marked.unwrap(), "marked accuracy must fall");
}

#[test]
fn rlhf_with_defaults_reaches_the_closed_form() {
    use sharpening_lab::sharpen::{run_rlhf, RlhfParams};
    let model = builtin::load("add").unwrap();
    let task = by_name("add").unwrap();
    let r = run_rlhf(&model, task.as_ref(), &RlhfParams::default(), &mut |_, _| true).unwrap();
    let (first, last) = (&r.steps[0], r.steps.last().unwrap());
    assert!(first.kl_to_closed_form > 0.3, "start {}", first.kl_to_closed_form);
    assert!(last.kl_to_closed_form < 0.05, "issue 6: KL(pi || pi*_beta) must fall below 0.05 nats, got {}", last.kl_to_closed_form);
    assert!(last.metrics.p_star > first.metrics.p_star + 0.2);
}
