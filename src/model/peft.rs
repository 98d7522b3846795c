//! LoRA adapters in the layout of Hugging Face PEFT, so adapters trained here
//! load in `peft` and adapters trained there load here: `adapter_config.json`
//! (`peft_type` "LORA", `r`, `lora_alpha`, `target_modules`,
//! `layers_to_transform`) beside `adapter_model.safetensors` with, per
//! adapted Llama projection, `base_model.model.model.layers.{i}.{module}.lora_A.weight`
//! `[r, in]` and `...lora_B.weight` `[out, r]`. The update is
//! `W' = W + (lora_alpha / r) B A` (Hu et al. 2021, Eq. 3; PEFT's scaling),
//! or `lora_alpha / sqrt(r)` with `use_rslora`. Weights are in Hugging Face's
//! row order (the GGUF loader un-permutes Q/K rows to it).

use std::collections::{BTreeSet, HashMap};

use candle_core::{DType, Device, Tensor};
use serde::Deserialize;
use serde_json::json;

use super::bundle::{sha256_hex, to_safetensors, Model};
use super::names::{self, Projection};
use crate::error::{Error, Result};

/// PEFT's prefix of every adapter tensor's name.
const PREFIX: &str = "base_model.model.";

/// Adapters by module (`model.layers.3.self_attn.q_proj`): `A` `[r, in]`,
/// `B` `[out, r]`, and the scale `B A` is multiplied by.
pub struct Adapter {
    pub rank: usize,
    pub alpha: f64,
    pub scale: f64,
    pub modules: Vec<(String, Tensor, Tensor)>,
}

#[derive(Deserialize)]
struct PeftConfig {
    peft_type: Option<String>,
    r: usize,
    lora_alpha: f64,
    #[serde(default)]
    use_rslora: bool,
    #[serde(default)]
    fan_in_fan_out: bool,
    #[serde(default)]
    use_dora: bool,
}

fn bad(m: impl std::fmt::Display) -> Error {
    Error::Weights(format!("adapter: {m}"))
}

impl Adapter {
    /// From the two files of a PEFT adapter folder. Everything the lab does
    /// not implement (DoRA, fan-in-fan-out weights, non-LoRA types) is refused
    /// by name; names, ranks and shapes are checked.
    pub fn from_peft(config_json: &[u8], safetensors: &[u8]) -> Result<Self> {
        let c: PeftConfig = serde_json::from_slice(config_json).map_err(|e| bad(format!("adapter_config.json: {e}")))?;
        if c.peft_type.as_deref().is_some_and(|t| t != "LORA") {
            return Err(bad(format!("peft_type {:?} is not LORA", c.peft_type.unwrap_or_default())));
        }
        if c.use_dora || c.fan_in_fan_out {
            return Err(bad("DoRA and fan_in_fan_out adapters are not supported"));
        }
        if c.r == 0 || c.r > 4096 || !(c.lora_alpha.is_finite() && c.lora_alpha > 0.0) {
            return Err(bad(format!("r = {} and lora_alpha = {} must be positive", c.r, c.lora_alpha)));
        }
        let tensors = candle_core::safetensors::load_buffer(safetensors, &Device::Cpu).map_err(|e| bad(format!("adapter_model.safetensors: {e}")))?;
        let mut a_of: HashMap<String, Tensor> = HashMap::new();
        let mut b_of: HashMap<String, Tensor> = HashMap::new();
        for (name, t) in tensors {
            let t = t.to_dtype(DType::F32)?;
            let short = name.strip_prefix(PREFIX).ok_or_else(|| bad(format!("tensor {name:?} does not start with {PREFIX:?}")))?;
            if let Some(m) = short.strip_suffix(".lora_A.weight") {
                a_of.insert(m.to_string(), t);
            } else if let Some(m) = short.strip_suffix(".lora_B.weight") {
                b_of.insert(m.to_string(), t);
            } else {
                return Err(bad(format!("tensor {name:?} is neither lora_A nor lora_B")));
            }
        }
        let keys: BTreeSet<String> = a_of.keys().chain(b_of.keys()).cloned().collect();
        let mut modules = Vec::new();
        for m in keys {
            let (Some(a), Some(b)) = (a_of.remove(&m), b_of.remove(&m)) else {
                return Err(bad(format!("{m} has only one of lora_A and lora_B")));
            };
            let (ra, rb) = (a.dims2()?.0, b.dims2()?.1);
            if ra != c.r || rb != c.r {
                return Err(bad(format!("{m}: lora_A {:?} and lora_B {:?} do not have rank r = {}", a.dims(), b.dims(), c.r)));
            }
            modules.push((m, a, b));
        }
        if modules.is_empty() {
            return Err(bad("adapter_model.safetensors holds no adapters"));
        }
        let scale = if c.use_rslora { c.lora_alpha / (c.r as f64).sqrt() } else { c.lora_alpha / c.r as f64 };
        Ok(Self { rank: c.r, alpha: c.lora_alpha, scale, modules })
    }

    /// The two files of a PEFT adapter folder: `adapter_config.json` and
    /// `adapter_model.safetensors` (tensor names sorted, so the bytes depend
    /// only on the values). `base` names the base model in the config.
    pub fn to_peft(&self, base: &str) -> Result<(String, Vec<u8>)> {
        let mut layers = BTreeSet::new();
        let mut targets = BTreeSet::new();
        let mut named = Vec::new();
        for (m, a, b) in &self.modules {
            let rest = m.strip_prefix("model.layers.").ok_or_else(|| bad(format!("{m} is not a block's projection")))?;
            let (layer, module) = rest.split_once('.').ok_or_else(|| bad(format!("{m} is not a block's projection")))?;
            layers.insert(layer.parse::<usize>().map_err(|_| bad(format!("{m}: block {layer:?}")))?);
            targets.insert(module.rsplit('.').next().unwrap_or(module).to_string());
            named.push((format!("{PREFIX}{m}.lora_A.weight"), a.clone()));
            named.push((format!("{PREFIX}{m}.lora_B.weight"), b.clone()));
        }
        let config = json!({
            "peft_type": "LORA",
            "task_type": "CAUSAL_LM",
            "base_model_name_or_path": base,
            "r": self.rank,
            "lora_alpha": self.alpha,
            "lora_dropout": 0.0,
            "bias": "none",
            "fan_in_fan_out": false,
            "use_rslora": false,
            "target_modules": targets,
            "layers_to_transform": layers,
            "inference_mode": true,
            "created_by": format!("sharpening-lab {}", crate::VERSION),
        });
        Ok((serde_json::to_string_pretty(&config).map_err(|e| Error::Other(e.to_string()))?, to_safetensors(&named)?))
    }

    /// `base` with every adapter merged, `W' = W + scale B A`, and 8-bit
    /// copies where `base` has them (so it decodes as fast). Its identity is
    /// the SHA-256 of the base weights' hash and the adapter file's hash.
    pub fn merge_into(&self, base: &Model, adapter_sha256: &str) -> Result<Model> {
        let cfg = base.llama.config();
        let valid: HashMap<String, Projection> =
            (0..cfg.num_hidden_layers).flat_map(|i| Projection::ALL.map(|p| (format!("{}.{}", names::block(i), p.hf()), p))).collect();
        let mut tensors = base.tensors.clone();
        for (m, a, b) in &self.modules {
            if !valid.contains_key(m) {
                return Err(bad(format!("{m} is not a projection of this model ({} blocks)", cfg.num_hidden_layers)));
            }
            let name = format!("{m}.weight");
            let w = &tensors[&name];
            let (out, inp) = w.dims2()?;
            if a.dims() != [self.rank, inp] || b.dims() != [out, self.rank] {
                return Err(bad(format!("{m}: lora_A {:?} / lora_B {:?} do not fit the weight {:?}", a.dims(), b.dims(), w.dims())));
            }
            let merged = (w + (b.matmul(a)? * self.scale)?)?;
            tensors.insert(name, merged);
        }
        let hash = sha256_hex(format!("{}+{adapter_sha256}", base.weights_sha256).as_bytes());
        let mut m = Model::from_parts(cfg, tensors, base.tok.clone(), hash)?;
        m.llama.use_q8(&base.llama.quantized_names())?;
        Ok(m)
    }
}
