//! The `sharpen` command line: JSON shape, byte-identical reruns, and one-line
//! errors (exit code 2, no panic trace) for bad arguments.

use std::process::Command;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sharpen")).args(args).output().expect("run sharpen");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

fn json(args: &[&str]) -> (String, serde_json::Value) {
    let (code, out, err) = run(args);
    assert_eq!(code, 0, "sharpen {args:?} failed: {err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"));
    (out, v)
}

fn check_envelope(v: &serde_json::Value, seed: u64) {
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["seed"], seed);
    assert_eq!(v["model_sha256"].as_str().unwrap().len(), 64);
    assert!(v["params"].is_object());
}

#[test]
fn bon_json_is_complete_and_deterministic() {
    let args = ["bon", "--n", "1,4", "--prompts", "6", "--seed", "7", "--json"];
    let (a, v) = json(&args);
    let (b, _) = json(&args);
    assert_eq!(a, b, "same seed must give byte-identical JSON");
    check_envelope(&v, 7);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 8, "one row per N and reward");
    let rewards: Vec<&str> = rows.iter().map(|r| r["reward"].as_str().unwrap()).collect();
    for r in ["loglik", "loglik_norm", "majority", "self_verify"] {
        assert!(rewards.contains(&r), "missing reward {r}");
    }
    // The rows are the library's for the same parameters, number for number.
    let model = sharpening_lab::builtin::load("add").unwrap();
    let task = sharpening_lab::tasks::by_name("add").unwrap();
    let params: sharpening_lab::sharpen::BonParams = serde_json::from_value(v["params"].clone()).unwrap();
    assert_eq!((params.n.clone(), params.prompts, params.seed), (vec![1, 4], 6, 7));
    let lib = sharpening_lab::sharpen::run_bon(&model, task.as_ref(), &params, &mut |_, _| true).unwrap();
    // (Both sides printed and parsed back, as JSON readers see them.)
    let printed: serde_json::Value = serde_json::from_str(&serde_json::to_string(&lib.rows).unwrap()).unwrap();
    assert_eq!(v["rows"], printed);
    // Accuracy is a share of trials: a whole number of them.
    for r in rows {
        let k = r["accuracy"].as_f64().unwrap() * r["trials"].as_f64().unwrap();
        assert!((k - k.round()).abs() < 1e-9, "{r}");
    }
    let (c, _) = json(&["bon", "--n", "1,4", "--prompts", "6", "--seed", "8", "--json"]);
    assert_ne!(a, c, "another seed must give other numbers");
    let (_, v) = json(&["bon", "--n", "2", "--prompts", "3", "--reward", "majority", "--task", "mul", "--json"]);
    assert_eq!(v["rows"].as_array().unwrap().len(), 1);
    assert_eq!(v["task"], "mul");
}

#[test]
fn sft_json_starts_at_step_zero_and_is_deterministic() {
    let args = ["sft", "--steps", "4", "--prompts", "6", "--samples", "4", "--eval-every", "2", "--seed", "3", "--json"];
    let (a, v) = json(&args);
    let (b, _) = json(&args);
    assert_eq!(a, b);
    check_envelope(&v, 3);
    let steps = v["steps"].as_array().unwrap();
    assert_eq!(steps.iter().map(|s| s["step"].as_u64().unwrap()).collect::<Vec<_>>(), vec![0, 2, 4]);
    for k in ["p_star", "accuracy", "mean_logp_base", "entropy", "kl"] {
        assert!(steps[0][k].is_number(), "missing {k}");
    }
}

#[test]
fn exact_json_sums_to_one() {
    let (_, v) = json(&["exact", "--prompt", "19+25=", "--json"]);
    let total: f64 = v["answers"].as_array().unwrap().iter().map(|a| a["p"].as_f64().unwrap()).sum::<f64>() + v["leftover"].as_f64().unwrap();
    assert!((total - 1.0).abs() < 1e-4, "sum {total}");
    assert_eq!(v["correct_answer"], "44");
    assert_eq!(v["marked"], true);
    let (code, out, _) = run(&["exact", "--prompt", "12+34="]);
    assert_eq!(code, 0);
    assert!(out.contains("y*"), "{out}");
}

#[test]
fn bad_arguments_give_one_line_errors() {
    for args in [
        vec!["frobnicate"],
        vec!["bon", "--n", "x"],
        vec!["bon", "--n", "0"],
        vec!["bon", "--bogus", "1"],
        vec!["bon", "--temperature", "-1"],
        vec!["bon", "--top-p", "2"],
        vec!["bon", "--reward", "vibes"],
        vec!["bon", "--task", "nope"],
        vec!["bon", "--seed"],
        vec!["bon", "--seed", "1", "--seed", "2"],
        vec!["sft", "--lr", "NaN"],
        vec!["sft", "--steps", "-3"],
        vec!["exact", "--prompt", "hello"],
        vec!["bon", "--model", "/nonexistent"],
        vec!["train"],
    ] {
        let (code, out, err) = run(&args);
        assert_eq!(code, 2, "{args:?} should fail with code 2, got {code}: {out} {err}");
        assert!(err.starts_with("error: ") && err.trim_end().lines().count() == 1, "{args:?}: not a one-line error: {err:?}");
        assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    }
    let (code, out, _) = run(&["help"]);
    assert_eq!(code, 0);
    assert!(out.contains("bon") && out.contains("sft") && out.contains("exact"));
}

#[test]
fn score_gives_per_token_log_probabilities_that_match_the_exact_distribution() {
    let (_, s) = json(&["score", "--model", concat!(env!("CARGO_MANIFEST_DIR"), "/www/models/add"), "--prompt", "12+34=", "--answer", "46", "--json"]);
    let toks = s["tokens"].as_array().unwrap();
    assert_eq!(toks.len(), 3, "4, 6 and </s>");
    assert_eq!(toks[2]["piece"], "</s>");
    let sum: f64 = toks.iter().map(|t| t["logp"].as_f64().unwrap()).sum();
    assert!((sum - s["logp"].as_f64().unwrap()).abs() < 1e-12);
    let (_, e) = json(&["exact", "--prompt", "12+34=", "--json"]);
    let p = e["answers"].as_array().unwrap().iter().find(|a| a["answer"] == "46").unwrap()["logp"].as_f64().unwrap();
    assert!((p - sum).abs() < 1e-4, "score {sum} vs exact {p}");
    let (code, _, err) = run(&["score", "--model", "/nonexistent.gguf", "--prompt", "x", "--answer", "y"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read /nonexistent.gguf"), "{err}");
}

/// Output into a pipe closed early (`sharpen ... | head -1`) ends quietly:
/// no panic message, no trace.
#[cfg(unix)]
#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_sharpen"))
        .args(["margin", "--prompts", "40", "--train-betas", "none"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{err}");
}

#[test]
fn coverage_defaults_to_the_low_coverage_task_with_the_documented_json() {
    let (_, v) = json(&["coverage", "--prompts", "2", "--budgets", "2", "--sft-n", "1", "--alphas", "0", "--fit-steps", "1", "--seed", "3", "--seeds", "1", "--json"]);
    check_envelope(&v, 3);
    assert_eq!(v["task"], "lock", "sharpen coverage runs on lock unless told otherwise");
    assert_eq!(v["exact"], true);
    assert!(v["c_cov"].as_f64().unwrap() > 50.0);
    let methods: Vec<&str> = v["methods"].as_array().unwrap().iter().map(|m| m["method"].as_str().unwrap()).collect();
    assert_eq!(methods, ["sft", "rlhf_offline", "rlhf_online", "rlhf_refit_base", "rlhf_online_fresh"]);
    for m in v["methods"].as_array().unwrap() {
        assert!(m.get("n").is_some() && m.get("alpha").is_some());
        for c in m["curve"].as_array().unwrap() {
            for k in ["samples", "samples_base", "samples_policy", "optimizer_steps", "p_star", "sharpened"] {
                assert!(c[k].is_number(), "{k} in {c}");
            }
        }
    }
    // Example J.1 swept over d, with the documented JSON; a parameter of the
    // single-d run (its beta is the theorem's here) is refused.
    let (_, v) = json(&["coverage", "--task", "j1", "--sweep-d", "4,5", "--budgets", "8,16", "--sft-n", "1", "--seeds", "1", "--seed", "3", "--json"]);
    check_envelope(&v, 3);
    let rows = v["sweep"].as_array().unwrap();
    assert_eq!(rows.iter().map(|r| r["d"].as_u64().unwrap()).collect::<Vec<_>>(), [4, 5]);
    for r in rows {
        for k in ["c_cov", "beta", "b", "closed_form_p_star"] {
            assert!(r[k].is_number(), "{k} in {r}");
        }
        let methods: Vec<&str> = r["methods"].as_array().unwrap().iter().map(|m| m["method"].as_str().unwrap()).collect();
        assert_eq!(methods, ["sft", "rlhf_offline", "rlhf_online", "rlhf_online"]);
        for m in r["methods"].as_array().unwrap() {
            assert!(m.get("alpha").is_some() && (m["samples_to_sharpen"].is_null() || m["samples_to_sharpen"].is_u64()), "{m}");
        }
    }
    let (code, _, err) = run(&["coverage", "--task", "j1", "--sweep-d", "4", "--beta", "0.1"]);
    assert_eq!(code, 2, "{err}");
    // complexity defaults to lock too; a task without enough prompts is refused with a message.
    let (code, _, err) = run(&["complexity", "--task", "echo", "--json"]);
    assert_eq!(code, 2);
    assert!(err.contains("too few") && !err.contains("panicked"), "{err}");
}
