//! Golden outputs: the `--json` report of a fixed list of CLI commands (every
//! subcommand that reports, on the built-in models and on SmolLM2), kept in
//! `tests/golden/`, one test per command. A refactor must leave them as they
//! are: strings, integers and booleans exactly, floats within 1e-6 relative —
//! 1e-4 for SmolLM2's, whose 30 blocks of f32 sums another CPU's kernels add
//! in another order (measured: up to 1.6e-5 relative between an AVX-512 and an
//! AVX2 host); on the machine that wrote them the outputs are byte-identical,
//! which each test reports. Sampled answers do not move: SmolLM2 decodes with
//! our own 8-bit kernels, the same bits everywhere.
//!
//! Except after LoRA training: the adapters are trained through candle's f32
//! kernels, whose summation order depends on the CPU, so another host ends
//! with adapters that differ in their last bits, and its samples from the
//! adapted model may be other answers (measured: `eval.after.sample_logp`
//! -48.29 on an AVX-512 host against -37.39 on an AVX2 one). For that report
//! ([`HOST_DEPENDENT`]) the quantities sampled from the trained model are
//! compared for presence only; what the training computes on fixed inputs
//! (the losses and gradient norms of later steps, the dataset's
//! log-likelihood after training) within a looser 1e-2; everything before
//! training as above. Step times (`ms`, `mean_step_ms`, `frozen_ms`) are
//! measurements, not results, and are left out.
//! `GOLDEN_UPDATE=1 cargo test --release --test suite golden::` rewrites the
//! files after a change that is meant to change numbers (say so in the commit).

use crate::common;

use std::process::Command;

const SMOL: &str = "target/models/SmolLM2-135M-Instruct.Q4_1.gguf";

/// (file name, arguments); `SMOL` in the arguments is SmolLM2's path.
const COMMANDS: &[(&str, &[&str])] = &[
    ("bon.json", &["bon", "--n", "1,4,16", "--prompts", "12", "--seed", "3", "--json"]),
    ("bon-mul-t07.json", &["bon", "--task", "mul", "--n", "1,4", "--prompts", "8", "--temperature", "0.7", "--top-k", "5", "--json"]),
    ("sft.json", &["sft", "--prompts", "8", "--samples", "4", "--steps", "12", "--eval-every", "4", "--seed", "2", "--json"]),
    ("rlhf.json", &["rlhf", "--prompts", "8", "--steps", "12", "--pairs", "8", "--eval-every", "4", "--seed", "5", "--json"]),
    ("rlhf-online.json", &["rlhf", "--prompts", "6", "--steps", "8", "--pairs", "6", "--eval-every", "4", "--online", "--alpha", "0.01", "--json"]),
    ("exact.json", &["exact", "--prompt", "39+25=", "--json"]),
    ("explore.json", &["explore", "--prompt", "19+23=", "--n", "8", "--seed", "4", "--json"]),
    ("closed-form.json", &["closed-form", "--prompt", "11+49=", "--scan", "40", "--json"]),
    ("gap.json", &["gap", "--prompts", "20", "--json"]),
    ("efficiency.json", &["efficiency", "--prompts", "4", "--sft-n", "1,4", "--sft-steps", "4", "--rlhf-steps", "8", "--json"]),
    ("complexity.json", &["complexity", "--task", "add", "--eval-prompts", "8", "--eps", "0.1,0.3", "--delta", "0.1,0.3", "--sft-n", "1,2", "--sft-prompts", "4", "--sft-steps", "4", "--json"]),
    ("margin.json", &["margin", "--prompts", "8", "--betas", "0.1,1", "--train-betas", "0.5", "--rlhf-steps", "4", "--json"]),
    ("coverage.json", &["coverage", "--task", "j1", "--d", "6", "--budgets", "8,32", "--sft-n", "1,4", "--alphas", "0,0.01", "--json"]),
    ("coverage-lock.json", &["coverage", "--prompts", "3", "--budgets", "2,4", "--sft-n", "2", "--alphas", "0.1", "--fit-steps", "3", "--seeds", "2", "--json"]),
    ("bon-echo.json", &["bon", "--task", "echo", "--n", "1,8", "--prompts", "6", "--reward", "loglik,loglik_norm", "--json"]),
    ("score.json", &["score", "--model", "www/models/add", "--prompt", "12+34=", "--answer", "46", "--json"]),
    ("smol-score.json", &["score", "--model", SMOL, "--prompt", "What is 7 + 2?", "--answer", "7 + 2 = 9", "--json"]),
    ("smol-explore.json", &["explore", "--model", SMOL, "--task", "arithmetic", "--n", "4", "--max-new-tokens", "24", "--json"]),
    ("smol-bon.json", &["bon", "--model", SMOL, "--task", "capitals", "--prompts", "2", "--n", "1,2", "--max-new-tokens", "16", "--json"]),
    ("smol-sft.json", &["sft", "--model", SMOL, "--task", "arithmetic", "--prompts", "2", "--samples", "2", "--steps", "2", "--batch", "2", "--eval-samples", "2", "--max-new-tokens", "16", "--json"]),
];

/// Host-dependent parts of a report: (file, path prefix, tolerance): `None`
/// = compared for presence only (sampled from LoRA-trained weights), a
/// number = relative tolerance (computed from them on fixed inputs).
const HOST_DEPENDENT: &[(&str, &str, Option<f64>)] = &[
    ("smol-sft.json", "smol-sft.json.train.after.dataset_logp", Some(1e-2)),
    ("smol-sft.json", "smol-sft.json.train.after", None),
    ("smol-sft.json", "smol-sft.json.eval.after", None),
    ("smol-sft.json", "smol-sft.json.steps[1]", Some(1e-2)),
];

/// The tolerance at `path` of `file` (`None`: presence only).
fn tolerance(file: &str, path: &str) -> Option<f64> {
    let base = if file.starts_with("smol-") { 1e-4 } else { 1e-6 };
    HOST_DEPENDENT.iter().find(|(f, prefix, _)| *f == file && path.starts_with(prefix)).map_or(Some(base), |(_, _, t)| *t)
}

/// `v` without its measured times.
fn without_times(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            m.retain(|k, _| k != "ms" && k != "mean_step_ms" && k != "frozen_ms");
            m.values_mut().for_each(without_times);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(without_times),
        _ => {}
    }
}

/// Differences between `got` and `want` beyond [`tolerance`], as paths.
fn diffs(file: &str, got: &serde_json::Value, want: &serde_json::Value, at: &str, out: &mut Vec<String>) {
    use serde_json::Value as V;
    let Some(tol) = tolerance(file, at) else { return };
    match (got, want) {
        (V::Number(a), V::Number(b)) if !(a.is_f64() || b.is_f64()) => {
            if a != b {
                out.push(format!("{at}: {a} vs {b}"));
            }
        }
        (V::Number(a), V::Number(b)) => {
            let (x, y) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            if (x - y).abs() > tol * x.abs().max(y.abs()).max(1e-300) {
                out.push(format!("{at}: {x} vs {y}"));
            }
        }
        (V::Array(a), V::Array(b)) => {
            if a.len() != b.len() {
                out.push(format!("{at}: {} items vs {}", a.len(), b.len()));
            }
            a.iter().zip(b).enumerate().for_each(|(i, (x, y))| diffs(file, x, y, &format!("{at}[{i}]"), out));
        }
        (V::Object(a), V::Object(b)) => {
            for k in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => diffs(file, x, y, &format!("{at}.{k}"), out),
                    _ => out.push(format!("{at}.{k}: present on one side only")),
                }
            }
        }
        (a, b) if a != b => out.push(format!("{at}: {a} vs {b}")),
        _ => {}
    }
}

/// Runs the command of golden `file` and compares its report.
fn check(file: &str) {
    let root = env!("CARGO_MANIFEST_DIR");
    let (_, args) = COMMANDS.iter().find(|(f, _)| *f == file).unwrap_or_else(|| panic!("no command for {file}"));
    let smol = format!("{root}/{SMOL}");
    if args.contains(&SMOL) && !std::path::Path::new(&smol).exists() {
        common::skip("SmolLM2 not found: its golden report was not checked (scripts/test.sh fetches it)");
        return;
    }
    let args: Vec<String> = args.iter().map(|a| if *a == SMOL { smol.clone() } else { a.to_string() }).collect();
    let out = Command::new(env!("CARGO_BIN_EXE_sharpen")).args(&args).current_dir(root).env("RAYON_NUM_THREADS", "1").output().unwrap();
    assert!(out.status.success(), "sharpen {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    let mut got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    without_times(&mut got);
    // The model's path is where this checkout keeps it.
    if got["model"].as_str() == Some(smol.as_str()) {
        got["model"] = SMOL.into();
    }
    let text = serde_json::to_string_pretty(&got).unwrap() + "\n";
    let path = format!("{root}/tests/golden/{file}");
    if std::env::var("GOLDEN_UPDATE").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let want_text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e} (GOLDEN_UPDATE=1 writes it)"));
    let want: serde_json::Value = serde_json::from_str(&want_text).unwrap();
    let mut d = Vec::new();
    diffs(file, &got, &want, file, &mut d);
    assert!(d.is_empty(), "{file} changed:\n{}", d.into_iter().take(5).collect::<Vec<_>>().join("\n"));
    eprintln!("{file} equals its golden report{}", if text == want_text { ", byte for byte" } else { "" });
}

/// One test per golden report, so the harness runs them side by side.
macro_rules! golden {
    ($($name:ident => $file:literal,)*) => {
        $(#[test] fn $name() { check($file) })*
        #[test]
        fn every_command_has_its_test() {
            let tested = [$($file),*];
            for (file, _) in COMMANDS {
                assert!(tested.contains(file), "{file} has no test in golden!");
            }
            assert_eq!(tested.len(), COMMANDS.len());
        }
    };
}

golden! {
    bon => "bon.json",
    bon_mul_t07 => "bon-mul-t07.json",
    sft => "sft.json",
    rlhf => "rlhf.json",
    rlhf_online => "rlhf-online.json",
    exact => "exact.json",
    explore => "explore.json",
    closed_form => "closed-form.json",
    gap => "gap.json",
    efficiency => "efficiency.json",
    complexity => "complexity.json",
    margin => "margin.json",
    coverage => "coverage.json",
    coverage_lock => "coverage-lock.json",
    bon_echo => "bon-echo.json",
    score => "score.json",
    smol_score => "smol-score.json",
    smol_explore => "smol-explore.json",
    smol_bon => "smol-bon.json",
    smol_sft => "smol-sft.json",
}

/// The host-dependent comparison is no blanket: before training, and every
/// other report, is compared as tightly as before.
#[test]
fn only_what_follows_lora_training_is_compared_loosely() {
    assert_eq!(tolerance("smol-sft.json", "smol-sft.json.train.before.sample_logp"), Some(1e-4));
    assert_eq!(tolerance("smol-sft.json", "smol-sft.json.steps[0].loss"), Some(1e-4));
    assert_eq!(tolerance("smol-sft.json", "smol-sft.json.eval.bon_ceiling.accuracy"), Some(1e-4));
    assert_eq!(tolerance("smol-sft.json", "smol-sft.json.train.after.dataset_logp"), Some(1e-2));
    assert_eq!(tolerance("smol-sft.json", "smol-sft.json.eval.after.sample_logp"), None);
    assert_eq!(tolerance("smol-bon.json", "smol-bon.json.rows"), Some(1e-4));
    assert_eq!(tolerance("sft.json", "sft.json.steps[1]"), Some(1e-6));
    // A sampled number that moved is found outside the host-dependent part.
    let (a, b) = (serde_json::json!({"x": {"after": 1.0}, "y": 1.0}), serde_json::json!({"x": {"after": 2.0}, "y": 1.001}));
    let mut d = Vec::new();
    diffs("smol-sft.json", &a, &b, "smol-sft.json", &mut d);
    assert_eq!(d.len(), 2, "{d:?}");
}
