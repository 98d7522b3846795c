//! The page's worker logic (`app::jobs`) run natively: its JSON exports equal
//! `sharpen ... --json` byte for byte for the same parameters and seed, and
//! its other exports carry the provenance.

use std::process::Command;

use sharpening_lab::app::jobs;
use sharpening_lab::app::session::{self, Session};
use sharpening_lab::ui::params::UiState;
use sharpening_lab::app::protocol::{Exports, FromWorker, Job};

fn session(task: &str) -> Session {
    let f = sharpening_lab::builtin::files(task).unwrap();
    session::load(task, f.config, f.weights, f.tokenizer, 0.0).unwrap()
}

fn cli(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_sharpen")).args(args).output().expect("run sharpen");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim_end().to_string()
}

fn exports_of(m: FromWorker) -> Exports {
    match m {
        FromWorker::Done { exports, .. } => exports,
        FromWorker::Failed { message } => panic!("job failed: {message}"),
        other => panic!("unexpected {other:?}"),
    }
}

fn check_stamps(ex: &Exports, sha: &str) {
    for text in [&ex.samples_csv, &ex.steps_csv] {
        if !text.is_empty() {
            let first = text.lines().next().unwrap();
            assert!(first.starts_with("# sharpening-lab ") && first.contains(sha) && first.contains("seed"), "{first}");
        }
    }
    for line in ex.dataset_jsonl.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v["prompt"].is_string() && v["completion"].is_string());
        assert_eq!(v["meta"]["model_sha256"], sha);
        assert_eq!(v["meta"]["version"], env!("CARGO_PKG_VERSION"));
    }
}

#[test]
fn bon_export_equals_the_cli() {
    let s = session("add");
    let (ui, msgs) = UiState::from_hash("#view=bon&task=add&n=1,4,16&prompts=10&seed=3&temperature=0.9");
    assert!(msgs.is_empty());
    let mut progress = Vec::new();
    let ex = exports_of(jobs::run_on_cpu(&s, Job::Bon(ui.bon_params(s.info.max_new_tokens)), &mut |m| progress.push(m), &|| 0.0));
    let want = cli(&["bon", "--task", "add", "--n", "1,4,16", "--prompts", "10", "--seed", "3", "--temperature", "0.9", "--json"]);
    assert_eq!(ex.json, want);
    assert!(progress.len() >= 10, "progress is reported per prompt");
    check_stamps(&ex, &s.info.sha256);
    assert_eq!(ex.samples_csv.lines().count(), 2 + 10 * 16, "stamp + header + one row per sample");
    assert_eq!(ex.dataset_jsonl.lines().count(), 10);
}

#[test]
fn explore_export_equals_the_cli() {
    let s = session("add");
    let (ui, _) = UiState::from_hash("#view=explore&prompt=39%2B25%3D&samples=8&seed=4&temperature=0.8");
    let p = ui.explore_params(s.info.max_new_tokens);
    let ex = exports_of(jobs::run_on_cpu(&s, Job::Explore(p.clone()), &mut |_| {}, &|| 0.0));
    let want = cli(&["explore", "--prompt", "39+25=", "--n", "8", "--seed", "4", "--temperature", "0.8", "--max-new-tokens", &p.sampling.max_new_tokens.to_string(), "--json"]);
    assert_eq!(ex.json, want);
    check_stamps(&ex, &s.info.sha256);
}

#[test]
fn sft_export_equals_the_cli() {
    let s = session("mul");
    let (ui, _) = UiState::from_hash("#view=sft&task=mul&sft_prompts=12&sft_n=8&steps=6&eval_every=3&lr=0.002&seed=5&reward=majority");
    let job = Job::Sft { params: ui.sft_params(s.info.max_new_tokens), watch: "7*8=".into() };
    let ex = exports_of(jobs::run_on_cpu(&s, job, &mut |_| {}, &|| 0.0));
    let want = cli(&[
        "sft", "--task", "mul", "--prompts", "12", "--samples", "8", "--steps", "6", "--eval-every", "3", "--lr", "0.002", "--seed", "5", "--reward", "majority", "--json",
    ]);
    assert_eq!(ex.json, want);
    check_stamps(&ex, &s.info.sha256);
    assert_eq!(ex.steps_csv.lines().count(), 2 + 3, "steps 0, 3, 6");
}

#[test]
fn rlhf_and_efficiency_exports_equal_the_cli() {
    let s = session("add");
    let (ui, _) = UiState::from_hash("#view=rlhf&rlhf_prompts=6&beta=0.5&rlhf_steps=8&pairs=4&eval_every=4&mode=online&alpha=0.05&seed=2");
    let job = Job::Rlhf { params: ui.rlhf_params(s.info.max_new_tokens), watch: String::new() };
    let ex = exports_of(jobs::run_on_cpu(&s, job, &mut |_| {}, &|| 0.0));
    let want = cli(&[
        "rlhf", "--prompts", "6", "--beta", "0.5", "--steps", "8", "--pairs", "4", "--eval-every", "4", "--online", "--alpha", "0.05", "--seed", "2", "--json",
    ]);
    assert_eq!(ex.json, want);
    check_stamps(&ex, &s.info.sha256);
    let header = ex.steps_csv.lines().nth(1).unwrap();
    assert!(header.ends_with("kl_to_closed_form,samples_drawn"), "{header}");
    let (ui, _) = UiState::from_hash("#view=efficiency&eff_prompts=4&sft_ns=1,2&eff_sft_steps=3&eff_rlhf_steps=4&seed=1");
    let ex = exports_of(jobs::run_on_cpu(&s, Job::Efficiency(ui.efficiency_params()), &mut |_| {}, &|| 0.0));
    let want = cli(&["efficiency", "--prompts", "4", "--sft-n", "1,2", "--sft-steps", "3", "--rlhf-steps", "4", "--seed", "1", "--json"]);
    assert_eq!(ex.json, want);
}

#[test]
fn bad_requests_fail_with_messages() {
    let s = session("add");
    let (ui, _) = UiState::from_hash("#prompt=hello");
    match jobs::run_on_cpu(&s, Job::Explore(ui.explore_params(5)), &mut |_| {}, &|| 0.0) {
        FromWorker::Failed { message } => assert!(message.contains("hello") || message.contains("prompt"), "{message}"),
        other => panic!("{other:?}"),
    }
    let (ui, _) = UiState::from_hash("#view=sft&watch=1%2B");
    match jobs::run_on_cpu(&s, Job::Sft { params: ui.sft_params(5), watch: "1+".into() }, &mut |_| {}, &|| 0.0) {
        FromWorker::Failed { message } => assert!(message.starts_with("invalid parameter: watched prompt"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert!(session::load("add", b"{}", b"", b"", 0.0).is_err());
    assert!(session::load("nope", b"{}", b"", b"", 0.0).is_err());
}

/// How the page loads models (`app::session`): a built-in task refuses a
/// real-model task in words; a file too large for the page is refused by
/// its size before it is read; named files load as a Hugging Face folder
/// (here the built-in model's own files) or say which file is missing.
#[test]
fn the_pages_loading_rules() {
    assert!(session::builtin_refusal("add").is_none());
    assert!(session::builtin_refusal("capitals").unwrap().contains("question set is for a real model"));
    assert!(session::builtin_refusal("custom").unwrap().contains("your own prompt set"));
    assert!(session::too_large_for_page("big.gguf", 2.5e9).unwrap().contains("sharpen --model"));
    assert!(session::too_large_for_page("small.gguf", 1e8).is_none());
    let f = sharpening_lab::builtin::files("add").unwrap();
    let named = |with_tokenizer: bool| {
        let mut v = vec![("config.json".to_string(), f.config.to_vec()), ("model.safetensors".to_string(), f.weights.to_vec())];
        if with_tokenizer {
            v.push(("tokenizer.json".to_string(), f.tokenizer.to_vec()));
        }
        v
    };
    let s = session::load_named("picked", named(true), session::real_task("add", None).unwrap(), "files", None).unwrap();
    assert!(s.info.real && s.info.source.starts_with("Hugging Face files") && s.info.origin == "files", "{:?}", s.info);
    assert_eq!(s.info.sha256, session("add").info.sha256, "the same weights as the built-in model");
    let e = session::load_named("picked", named(false), session::real_task("add", None).unwrap(), "files", None).err().unwrap().to_string();
    assert!(e.contains("missing: tokenizer.json"), "{e}");
}

#[test]
fn complexity_export_equals_the_cli() {
    let s = session("add");
    let (ui, msgs) = UiState::from_hash("#view=complexity&cx_prompts=8&cx_eps=0.1,0.3&cx_delta=0.2&gamma=0.1&cx_sft_ns=2&cx_sft_prompts=4,8&cx_steps=5&seed=2");
    assert!(msgs.is_empty(), "{msgs:?}");
    let exports = exports_of(jobs::run_on_cpu(&s, Job::Complexity(ui.complexity_params()), &mut |_| {}, &|| 0.0));
    assert_eq!(exports.json, cli(&["complexity", "--task", "add", "--eval-prompts", "8", "--eps", "0.1,0.3", "--delta", "0.2", "--gamma", "0.1", "--sft-n", "2", "--sft-prompts", "4,8", "--sft-steps", "5", "--seed", "2", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&exports.json).unwrap();
    assert_eq!(v["exact"], true);
    assert_eq!(v["rows"].as_array().unwrap().len(), 2);
    for k in ["c_cov", "per_prompt", "rows", "version", "model_sha256", "seed", "params"] {
        assert!(!v[k].is_null(), "{k} missing");
    }
}

#[test]
fn margin_export_equals_the_cli() {
    let s = session("add");
    let (ui, msgs) = UiState::from_hash("#view=margin&margin_prompts=10&delta=0.2&margin_eps=0.3&margin_betas=0.1,1,3&margin_train_betas=0.5&margin_steps=4&seed=1");
    assert!(msgs.is_empty(), "{msgs:?}");
    let exports = exports_of(jobs::run_on_cpu(&s, Job::Margin(ui.margin_params()), &mut |_| {}, &|| 0.0));
    assert_eq!(exports.json, cli(&["margin", "--prompts", "10", "--delta", "0.2", "--eps", "0.3", "--betas", "0.1,1,3", "--train-betas", "0.5", "--rlhf-steps", "4", "--seed", "1", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&exports.json).unwrap();
    assert_eq!(v["exact"], true);
    assert_eq!(v["sweep"].as_array().unwrap().len(), 3);
    assert_eq!(v["trained"].as_array().unwrap().len(), 1);
}

#[test]
fn coverage_export_equals_the_cli() {
    let s = session("mul");
    let (ui, msgs) = UiState::from_hash("#view=coverage&cov_structure=cube&cov_d=5&cov_beta=0.1&cov_budgets=4,16&cov_sft_ns=2&cov_alphas=0,0.1&delta=0.2&seed=3");
    assert!(msgs.is_empty(), "{msgs:?}");
    let exports = exports_of(jobs::run_on_cpu(&s, Job::Coverage(ui.coverage_params()), &mut |_| {}, &|| 0.0));
    assert_eq!(exports.json, cli(&["coverage", "--task", "j1", "--structure", "cube", "--d", "5", "--beta", "0.1", "--budgets", "4,16", "--sft-n", "2", "--alphas", "0,0.1", "--delta", "0.2", "--seed", "3", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&exports.json).unwrap();
    assert_eq!(v["exact"], true);
    assert_eq!(v["task"], "j1", "the run is on Example J.1's class, whatever model the page has loaded");
    assert_eq!(v["methods"].as_array().unwrap().len(), 1 + 1 + 2 * 2);
    for m in v["methods"].as_array().unwrap() {
        for c in m["curve"].as_array().unwrap() {
            for k in ["samples", "samples_base", "samples_policy", "p_star", "sharpened"] {
                assert!(c[k].is_number(), "{k} in {c}");
            }
        }
    }
}

#[test]
fn coverage_on_the_transformer_export_equals_the_cli() {
    let s = session("lock");
    let (ui, msgs) = UiState::from_hash("#view=coverage&task=lock&cov_on=model&cov_prompts=2&cov_lm_budgets=2,4&cov_lm_sft_ns=2&cov_alphas=0.1&cov_beta=0.1&delta=0.2&seed=4");
    assert!(msgs.is_empty(), "{msgs:?}");
    let job = ui.coverage_job();
    assert!(matches!(job, Job::CoverageLm(_)));
    // Fit steps stay at the default in both.
    let exports = exports_of(jobs::run_on_cpu(&s, job, &mut |_| {}, &|| 0.0));
    let want = cli(&["coverage", "--task", "lock", "--prompts", "2", "--budgets", "2,4", "--sft-n", "2", "--alphas", "0.1", "--beta", "0.1", "--delta", "0.2", "--seed", "4", "--json"]);
    assert_eq!(exports.json, want);
    let v: serde_json::Value = serde_json::from_str(&exports.json).unwrap();
    assert_eq!(v["exact"], true);
    assert_eq!(v["task"], "lock");
    assert!(v["c_cov"].as_f64().unwrap() > 50.0);
    // SFT at N = 2, offline, and Alg. 1 with its two ablations at alpha 0.1.
    assert_eq!(v["methods"].as_array().unwrap().len(), 1 + 1 + 3);
}
