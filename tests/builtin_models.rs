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
