//! LoRA SFT-Sharpening on SmolLM2-135M-Instruct through the CLI, small
//! enough for CI: training raises the log-likelihood of its own best-of-N
//! answers, the report's amortisation fields are there with consistent
//! counts, and the saved PEFT adapters load back (`--adapter`) and agree with
//! an independent reader (safetensors + NumPy: `W + (alpha/r) B A`, then the
//! NumPy forward pass) per token.

use crate::common;

use std::process::Command;

fn sharpen(args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_sharpen")).args(args).output().unwrap();
    assert!(out.status.success(), "sharpen {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn smollm2_lora_run_saves_peft_adapters_that_an_independent_reader_agrees_with() {
    let Some(model) = common::smollm2_path() else { return };
    let dir = std::env::temp_dir().join(format!("sharpening-adapter-{}", std::process::id()));
    let dir_s = dir.to_str().unwrap();
    let v = sharpen(&[
        "sft", "--model", &model, "--task", "arithmetic", "--prompts", "4", "--eval-prompts", "2", "--samples", "2", "--steps", "3",
        "--lr", "5e-3", "--eval-samples", "2", "--max-new-tokens", "16", "--save-adapter", dir_s, "--json",
    ]);
    let (train, eval) = (&v["train"], &v["eval"]);
    assert_eq!((train["prompts"].as_u64(), eval["prompts"].as_u64()), (Some(4), Some(2)));
    for (split, n) in [(train, 4u64), (eval, 2)] {
        for when in ["before", "after"] {
            let e = &split[when];
            assert_eq!(e["samples"].as_u64(), Some(2 * n), "{when}: prompts x samples per prompt");
            assert!(e["sample_accuracy_ci"].as_array().unwrap().len() == 2 && e["greedy_accuracy"].is_number() && e["cut_off"].is_number());
        }
        assert_eq!(split["bon_ceiling"]["n"].as_u64(), Some(2));
    }
    let (lp0, lp1) = (train["before"]["dataset_logp"].as_f64().unwrap(), train["after"]["dataset_logp"].as_f64().unwrap());
    assert!(lp1 > lp0 + 0.5, "training raises log pi(y_BoN|x): {lp0} -> {lp1}");
    assert_eq!(v["adapted_layers"], serde_json::json!([20, 30]));
    let config: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("adapter_config.json")).unwrap()).unwrap();
    assert_eq!((config["peft_type"].as_str(), config["r"].as_u64(), config["lora_alpha"].as_f64()), (Some("LORA"), Some(8), Some(16.0)));
    assert_eq!(config["target_modules"].as_array().unwrap().len(), 7);

    // The merged model's per-token log-probabilities, ours and the reader's.
    let prompt = "What is 7 + 2? Answer in one short sentence.";
    let score = |adapter: bool| {
        let mut args = vec!["score", "--model", &model, "--weights", "f32", "--prompt", prompt, "--answer", "7 + 2 = 9.", "--json"];
        if adapter {
            args.extend(["--adapter", dir_s]);
        }
        sharpen(&args)
    };
    let (with, without) = (score(true), score(false));
    assert_ne!(with["model_sha256"], without["model_sha256"], "an adapted model has an identity of its own");
    let logps = |s: &serde_json::Value| s["tokens"].as_array().unwrap().iter().map(|t| t["logp"].as_f64().unwrap()).collect::<Vec<_>>();
    let ours = logps(&with);
    assert!(ours.iter().zip(logps(&without)).any(|(a, b)| (a - b).abs() > 1e-3), "the adapters change the model");
    if common::python_reference_available(&["gguf", "numpy", "safetensors"]) {
        let prompt_ids: Vec<u32> = with["prompt_ids"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect();
        let ids: Vec<u32> = prompt_ids.iter().copied().chain(with["tokens"].as_array().unwrap().iter().map(|t| t["id"].as_u64().unwrap() as u32)).collect();
        let theirs = common::reference_logps(&model, Some(dir_s), &ids, prompt_ids.len());
        let worst = ours.iter().zip(&theirs).map(|(a, b)| (a - b).abs()).fold(0f64, f64::max);
        eprintln!("adapted SmolLM2: largest per-token difference to the NumPy merge: {worst:.2e} nats");
        assert!(worst < 1e-4, "{ours:?} vs the NumPy merge {theirs:?}");
    }
    // Best-of-N and sampling run with the adapters too.
    let b = sharpen(&["bon", "--model", &model, "--adapter", dir_s, "--task", "arithmetic", "--prompts", "1", "--n", "1,2", "--max-new-tokens", "8", "--json"]);
    assert_eq!(b["model_sha256"], with["model_sha256"]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The page's LoRA run (the worker's job, from the page's controls) reports
/// the numbers `sharpen sft --model` prints for the same settings, offers
/// the adapters `--save-adapter` writes, and loading those downloads into
/// the page gives the model `--adapter` gives.
#[test]
fn the_pages_lora_run_equals_the_clis() {
    // As the command line runs its work (sharpening_lab::runtime::run).
    sharpening_lab::runtime::run(|| {
    use sharpening_lab::app::protocol::{AdapterFiles, Download, FromWorker, Job};
    use sharpening_lab::app::{jobs, session};
    use sharpening_lab::ui::params::UiState;
    let Some(model) = common::smollm2_path() else { return };
    let bytes = std::fs::read(&model).unwrap();
    let s = session::load_real("SmolLM2-135M-Instruct.Q4_1.gguf", &bytes, session::real_task("arithmetic", None).unwrap(), 3 << 30, "file").unwrap();
    let (ui, _) = UiState::from_hash("#view=sft&task=arithmetic&sft_prompts=2&sft_n=2&steps=2&batch=2&seed=1");
    // 16 new tokens (fewer than the page gives this task): the same job
    // and the same comparison, in less time.
    let p = ui.sft_params(16);
    let exports = match jobs::run_on_cpu(&s, Job::Sft { params: p.clone(), watch: String::new() }, &mut |_| {}, &|| 0.0) {
        FromWorker::Done { exports, .. } => exports,
        other => panic!("unexpected {other:?}"),
    };
    let page: serde_json::Value = serde_json::from_str(&exports.json).unwrap();
    let dir = std::env::temp_dir().join(format!("sharpening-page-adapter-{}", std::process::id()));
    let dir_s = dir.to_str().unwrap();
    let (lr, temp, top_k, top_p, max) = (p.lr.to_string(), p.sampling.temperature.to_string(), p.sampling.top_k.to_string(), p.sampling.top_p.to_string(), p.sampling.max_new_tokens.to_string());
    let cli = sharpen(&[
        "sft", "--model", &model, "--task", "arithmetic", "--prompts", "2", "--samples", "2", "--steps", "2", "--batch", "2", "--seed", "1", "--lr", &lr,
        "--reward", p.reward.name(), "--temperature", &temp, "--top-k", &top_k, "--top-p", &top_p, "--max-new-tokens", &max, "--save-adapter", dir_s, "--json",
    ]);
    for key in ["train", "eval", "dataset_size", "dataset_accuracy", "adapter_params", "adapted_layers"] {
        assert_eq!(page[key], cli[key], "{key}");
    }
    let losses = |v: &serde_json::Value| v["steps"].as_array().unwrap().iter().map(|s| (s["loss"].clone(), s["grad_norm"].clone())).collect::<Vec<_>>();
    assert_eq!(losses(&page), losses(&cli));
    assert_eq!(page["params"], cli["params"], "the same parameters");

    // The page's two adapter downloads are the CLI's files (the config names
    // the base model as each was told it: a file name here, a path there).
    let offered: Vec<Download> = exports.offered().collect();
    assert!(offered.contains(&Download::AdapterConfig) && offered.contains(&Download::AdapterWeights), "{offered:?}");
    let cli_weights = std::fs::read(dir.join("adapter_model.safetensors")).unwrap();
    assert!(exports.bytes(Download::AdapterWeights) == cli_weights.as_slice(), "the same safetensors bytes");
    let config = |b: &[u8]| {
        let mut c: serde_json::Value = serde_json::from_slice(b).unwrap();
        c.as_object_mut().unwrap().remove("base_model_name_or_path");
        c
    };
    assert_eq!(config(exports.bytes(Download::AdapterConfig)), config(&std::fs::read(dir.join("adapter_config.json")).unwrap()));
    // Loaded back into the page, they give the model `--adapter DIR` gives.
    let files = AdapterFiles { config: exports.bytes(Download::AdapterConfig).to_vec(), weights: exports.bytes(Download::AdapterWeights).to_vec() };
    let adapted = s.with_adapter(&files).unwrap();
    let scored = sharpen(&["score", "--model", &model, "--adapter", dir_s, "--prompt", "What is 1 + 2?", "--answer", "3", "--json"]);
    assert_eq!(scored["model_sha256"].as_str(), Some(adapted.info.sha256.as_str()), "one identity for one adapted model");
    assert!(adapted.info.source.contains("LoRA adapter (rank 8"), "{}", adapted.info.source);
    let _ = std::fs::remove_dir_all(&dir);
    })
}

