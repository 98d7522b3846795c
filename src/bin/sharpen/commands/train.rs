//! `sharpen train`: trains a built-in model from a seed and writes
//! `config.json`, `model.safetensors`, `tokenizer.json` and `card.json`.

use std::time::Instant;

use sharpening_lab::model::Model;
use sharpening_lab::train::{train as run_train, Corpus, TrainParams};

use super::{card_metrics, fail};
use crate::args::Args;

pub fn train(raw: &[String]) -> Result<(), String> {
    let a = Args::parse(raw, &["json", "quiet"])?;
    let task_name = a.str("task").unwrap_or_else(|| "add".into());
    let corpus = Corpus::by_name(&task_name).map_err(fail)?;
    let d = TrainParams::for_task(&task_name);
    let p = TrainParams {
        seed: a.get("seed", d.seed)?,
        steps: a.get("steps", d.steps)?,
        batch: a.get("batch", d.batch)?,
        lr: a.get("lr", d.lr)?,
        hidden_size: a.get("hidden", d.hidden_size)?,
        intermediate_size: a.get("ffn", d.intermediate_size)?,
        layers: a.get("layers", d.layers)?,
        curriculum: a.get("curriculum", d.curriculum)?,
        ..d
    };
    let out = a.str("out").ok_or("--out DIR is required (where to write the model)")?;
    let quiet = a.flag("quiet");
    let json = a.flag("json");
    a.finish()?;
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {out}: {e}"))?;
    let task = corpus.task();
    let t0 = Instant::now();
    let trained = run_train(&corpus, &p, &mut |s, loss| {
        if !quiet && (s % 100 == 0 || s == p.steps) {
            eprintln!("step {s:>5}/{}  loss {loss:.4}  {:.0}s", p.steps, t0.elapsed().as_secs_f64());
        }
        true
    })
    .map_err(fail)?;
    let secs = t0.elapsed().as_secs_f64();
    let model = Model::from_bytes(trained.config_json.as_bytes(), &trained.weights, trained.tokenizer_json.as_bytes()).map_err(fail)?;
    let metrics = card_metrics(&model, task).map_err(fail)?;
    let card = serde_json::json!({
        "task": task_name,
        "description": task.description(),
        "crate_version": sharpening_lab::VERSION,
        "seed": p.seed,
        "train_params": p,
        "config": serde_json::from_str::<serde_json::Value>(&trained.config_json).unwrap(),
        "num_params": model.llama.config().num_params(),
        "data_recipe": corpus.recipe(),
        "final_loss_ema": trained.final_loss,
        "train_seconds": (secs * 10.0).round() / 10.0,
        "weights_sha256": model.weights_sha256,
        "base_metrics": metrics,
    });
    let write = |name: &str, bytes: &[u8]| std::fs::write(format!("{out}/{name}"), bytes).map_err(|e| format!("cannot write {out}/{name}: {e}"));
    write("config.json", trained.config_json.as_bytes())?;
    write("model.safetensors", &trained.weights)?;
    write("tokenizer.json", trained.tokenizer_json.as_bytes())?;
    write("card.json", (serde_json::to_string_pretty(&card).unwrap() + "\n").as_bytes())?;
    if json {
        println!("{card}");
    } else {
        println!("trained {task_name} model in {secs:.0}s, weights sha256 {}", model.weights_sha256);
        println!("{}", serde_json::to_string_pretty(&card["base_metrics"]).unwrap());
    }
    Ok(())
}
