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
    // As the command line runs its work (sharpening_lab::runtime::run).
    sharpening_lab::runtime::run(|| {
    for task in ["add", "mul", "lock", "echo"] {
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
            ("y_star_accuracy", got.y_star_accuracy, want.y_star_accuracy),
            ("p_star", got.p_star, want.p_star),
            ("c_cov", got.c_cov, want.c_cov),
        ] {
            assert!((g - w).abs() < 1e-6 * w.abs().max(1.0), "{task} {name}: measured {g}, card says {w}");
        }
        for (name, g, w) in [
            ("sample_accuracy_marked", got.sample_accuracy_marked, want.sample_accuracy_marked),
            ("y_star_accuracy_marked", got.y_star_accuracy_marked, want.y_star_accuracy_marked),
        ] {
            assert_eq!(g.is_some(), w.is_some(), "{task} {name}: the card says whether the task marks prompts");
            let (g, w) = (g.unwrap_or(0.0), w.unwrap_or(0.0));
            assert!((g - w).abs() < 1e-6 * w.abs().max(1.0), "{task} {name}: measured {g}, card says {w}");
        }
    }
    })
}

#[test]
fn main_model_shows_the_sharpening_gap() {
    let m: CardMetrics = serde_json::from_value(card("add")["base_metrics"].clone()).unwrap();
    assert!((0.3..=0.6).contains(&m.sample_accuracy), "a random sample is right {} of the time", m.sample_accuracy);
    assert!(m.y_star_accuracy >= 0.85, "the most likely answer is right on only {}", m.y_star_accuracy);
    let marked = m.y_star_accuracy_marked.expect("add marks prompts");
    assert!(m.marked_prompts > 0 && marked <= 0.3, "marked prompts: y* right on {marked}");
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
    // As the command line runs its work (sharpening_lab::runtime::run).
    sharpening_lab::runtime::run(|| {
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
    })
}

/// What the `add` model's self-verifier checks: mean `P(Y | "a+b=c?")` over
/// the first 400 prompts for the right sum and for answers off by one in the
/// units or by ten, on unmarked and marked prompts (the README's table).
#[test]
fn what_the_add_verifier_checks() {
    use sharpening_lab::score::{score, Scored};
    let model = builtin::load("add").unwrap();
    let task = by_name("add").unwrap();
    let yes = model.tok.encode(task.verify_yes()).unwrap();
    let offsets: [i64; 5] = [0, 1, -1, 10, -10];
    let mut sums = [[0.0f64; 5]; 2];
    let mut counts = [0usize; 2];
    for i in 0..400 {
        let q = task.problem(i);
        let right: i64 = q.answer.parse().unwrap();
        let k = usize::from(q.marked);
        counts[k] += 1;
        for (j, off) in offsets.iter().enumerate() {
            let vp = model.tok.encode_prompt(&task.verify_prompt(&q.prompt, &(right + off).to_string())).unwrap();
            sums[k][j] += score(&model.llama, &[Scored { prompt: &vp, continuation: &yes }]).unwrap()[0].exp();
        }
    }
    let mean = |k: usize, j: usize| sums[k][j] / counts[k] as f64;
    for (k, name) in ["unmarked", "marked"].iter().enumerate() {
        eprintln!("{name} ({} prompts): P(Y) right {:.3}, +1 {:.3}, -1 {:.3}, +10 {:.3}, -10 {:.3}", counts[k], mean(k, 0), mean(k, 1), mean(k, 2), mean(k, 3), mean(k, 4));
    }
    // Measured: unmarked right 0.608, +1 0.577, -1 0.611, +10 0.276, -10
    // 0.348; marked right 0.122, -10 (the forgotten carry) 0.585.
    // It checks the tens digit: a wrong units digit passes as often as the
    // right answer, a wrong tens digit far less often...
    for j in [1, 2] {
        assert!((mean(0, j) - mean(0, 0)).abs() < 0.05, "units off by one: P(Y) {} vs right {}", mean(0, j), mean(0, 0));
    }
    for j in [3, 4] {
        assert!(mean(0, j) < mean(0, 0) - 0.2, "tens off: P(Y) {} vs right {}", mean(0, j), mean(0, 0));
    }
    // ...of the corpus's most likely answer: on marked prompts it endorses
    // the forgotten carry (ten too low) over the right sum.
    assert!(mean(1, 4) > mean(1, 0) + 0.3, "marked: P(Y) of ten too low {} vs right {}", mean(1, 4), mean(1, 0));
}
