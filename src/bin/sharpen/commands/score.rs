//! `sharpen score`: the per-token log-probabilities of an answer to a prompt
//! under a model (the prompt wrapped in the model's chat template unless
//! `--raw`), and their sum — the self-reward `log pi(y|x)` of Eq. 2.

use serde_json::json;
use sharpening_lab::model::gguf::{load_gguf, Weights};
use sharpening_lab::model::Model;
use sharpening_lab::score::{token_logps, Scored};

use super::fail;
use crate::args::Args;
use crate::table::Table;

/// Loads `--model PATH`: a `.gguf` file (matrix weights as `--weights` says:
/// `quantized`, the default, or `f32`), or a Hugging Face folder with
/// config.json, model.safetensors, tokenizer.json and, when present,
/// tokenizer_config.json (special tokens and chat template).
pub fn load_model(a: &Args, path: &str) -> Result<Model, String> {
    let base = load_base(a, path)?;
    // `--adapter DIR`: PEFT LoRA adapters merged into the weights (model::peft).
    let Some(dir) = a.str("adapter") else { return Ok(base) };
    let read = |f: &str| std::fs::read(format!("{dir}/{f}")).map_err(|e| format!("cannot read {dir}/{f}: {e}"));
    let weights = read("adapter_model.safetensors")?;
    let adapter = sharpening_lab::model::peft::Adapter::from_peft(&read("adapter_config.json")?, &weights).map_err(fail)?;
    adapter.merge_into(&base, &sharpening_lab::model::bundle::sha256_hex(&weights)).map_err(fail)
}

fn load_base(a: &Args, path: &str) -> Result<Model, String> {
    let weights = Weights::parse(&a.str("weights").unwrap_or_else(|| "quantized".into())).map_err(fail)?;
    if path.ends_with(".gguf") {
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
        return load_gguf(&bytes, weights).map_err(fail);
    }
    let read = |f: &str| std::fs::read(format!("{path}/{f}")).map_err(|e| format!("cannot read {path}/{f}: {e}"));
    let tc = std::fs::read(format!("{path}/tokenizer_config.json")).ok();
    Model::from_hf_files(&read("config.json")?, &read("model.safetensors")?, &read("tokenizer.json")?, tc.as_deref()).map_err(fail)
}

pub fn score(raw: &[String]) -> Result<(), String> {
    let a = Args::parse(raw, &["json", "raw", "no-eos"])?;
    let path = a.str("model").ok_or("--model PATH is required (a .gguf file or a model folder)")?;
    let prompt = a.str("prompt").ok_or("--prompt is required")?;
    let answer = a.str("answer").ok_or("--answer is required")?;
    let (raw_prompt, no_eos, json_out) = (a.flag("raw"), a.flag("no-eos"), a.flag("json"));
    let model = load_model(&a, &path)?;
    a.finish()?;
    let tok = &model.tok;
    let p = if raw_prompt { tok.encode(&prompt) } else { tok.encode_prompt(&prompt) }.map_err(fail)?;
    let mut y = tok.encode(&answer).map_err(fail)?;
    if !no_eos {
        y.push(tok.eos);
    }
    if y.is_empty() {
        return Err("the answer has no tokens (give --answer, or drop --no-eos)".into());
    }
    let lps = token_logps(&model.llama, &[Scored { prompt: &p, continuation: &y }]).map_err(fail)?.remove(0);
    let total: f64 = lps.iter().sum();
    if json_out {
        let tokens: Vec<_> = y.iter().zip(&lps).map(|(&id, &lp)| json!({"id": id, "piece": tok.piece(id), "logp": lp})).collect();
        println!("{}", json!({
            "command": "score", "version": sharpening_lab::VERSION, "model": path, "model_sha256": model.weights_sha256,
            "prompt": prompt, "answer": answer, "raw": raw_prompt, "eos": !no_eos,
            "prompt_ids": p, "tokens": tokens, "logp": total,
        }));
        return Ok(());
    }
    println!("log pi(answer | prompt) under {path} ({}; prompt {} tokens{})", model.short_hash(), p.len(), if raw_prompt { ", raw" } else { ", chat template" });
    let mut t = Table::new(&["token", "id", "log p"]);
    for (&id, &lp) in y.iter().zip(&lps) {
        t.row(vec![format!("{:?}", tok.piece(id)), id.to_string(), format!("{lp:.4}")]);
    }
    t.print();
    println!("total {total:.4} nats over {} tokens", y.len());
    Ok(())
}
