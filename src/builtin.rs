//! The built-in models, compiled into the native binary (the CLI and the
//! tests) so it works offline at once; the page fetches the same files from
//! `www/models/<task>/` instead. They are produced by `sharpen train` (see
//! each `card.json`).

use crate::error::{param_err, Result};
use crate::model::Model;

/// The files of one built-in model.
pub struct BuiltinFiles {
    pub config: &'static [u8],
    pub weights: &'static [u8],
    pub tokenizer: &'static [u8],
    pub card: &'static [u8],
}

macro_rules! model_files {
    ($dir:literal) => {
        BuiltinFiles {
            config: include_bytes!(concat!("../www/models/", $dir, "/config.json")),
            weights: include_bytes!(concat!("../www/models/", $dir, "/model.safetensors")),
            tokenizer: include_bytes!(concat!("../www/models/", $dir, "/tokenizer.json")),
            card: include_bytes!(concat!("../www/models/", $dir, "/card.json")),
        }
    };
}

pub fn files(task: &str) -> Result<BuiltinFiles> {
    match task {
        "add" => Ok(model_files!("add")),
        "mul" => Ok(model_files!("mul")),
        "lock" => Ok(model_files!("lock")),
        "echo" => Ok(model_files!("echo")),
        _ => param_err(format!("no built-in model for task {task:?}; built-in tasks: {}", crate::tasks::builtin_names().join(", "))),
    }
}

/// Loads the built-in model of `task`.
pub fn load(task: &str) -> Result<Model> {
    let f = files(task)?;
    Model::from_bytes(f.config, f.weights, f.tokenizer)
}
