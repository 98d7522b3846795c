//! A loaded model: config + weights + tokenizer, from bytes (no file paths, so
//! the same code serves the CLI and the browser), with the SHA-256 of the weight
//! bytes as its identity.

use candle_core::{DType, Device, Tensor};
use std::collections::HashMap;

use candle_core::Var;
use candle_nn::{VarBuilder, VarMap};
use sha2::{Digest, Sha256};

use super::{Config, Llama, Tok};
use crate::error::{Error, Result};

/// Largest weights file accepted by the built-in loader (the real-model path
/// has its own, memory-aware limit).
pub const MAX_WEIGHT_BYTES: usize = 2 << 30;

pub struct Model {
    pub llama: Llama,
    /// The weights by name (f32), for making trainable copies.
    pub tensors: HashMap<String, Tensor>,
    pub tok: Tok,
    /// Hex SHA-256 of the safetensors bytes.
    pub weights_sha256: String,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Memory a safetensors model takes to load (the file, and its weights as
/// f32), from its header alone: `8-byte length, JSON {name: {dtype, shape,
/// data_offsets}}` (the safetensors format).
pub fn safetensors_memory_needed(bytes: &[u8]) -> Result<usize> {
    let bad = |m: &str| Error::Weights(format!("not a safetensors file: {m}"));
    let len = bytes.get(..8).ok_or_else(|| bad("shorter than its header"))?;
    let len = u64::from_le_bytes(len.try_into().expect("8 bytes")) as usize;
    let header = bytes.get(8..8usize.saturating_add(len)).filter(|_| len <= 100 << 20).ok_or_else(|| bad("header length past the end"))?;
    let v: serde_json::Value = serde_json::from_slice(header).map_err(|e| bad(&e.to_string()))?;
    let obj = v.as_object().ok_or_else(|| bad("header is not an object"))?;
    let mut elems = 0usize;
    for (name, t) in obj.iter().filter(|(n, _)| *n != "__metadata__") {
        let shape = t.get("shape").and_then(|s| s.as_array()).ok_or_else(|| bad(&format!("{name} has no shape")))?;
        let n = shape.iter().try_fold(1usize, |a, d| d.as_u64().and_then(|d| a.checked_mul(d as usize))).ok_or_else(|| bad(&format!("{name}: absurd shape")))?;
        elems = elems.saturating_add(n);
    }
    Ok(bytes.len().saturating_add(elems.saturating_mul(4)))
}

impl Model {
    /// Loads a model from the bytes of `config.json`, `model.safetensors` and
    /// `tokenizer.json`. Every inconsistency is an error naming the culprit.
    pub fn from_bytes(config: &[u8], weights: &[u8], tokenizer: &[u8]) -> Result<Self> {
        Self::from_hf_files(config, weights, tokenizer, None)
    }

    /// [`Model::from_bytes`] with a Hugging Face folder's optional
    /// `tokenizer_config.json` (special tokens, chat template; `Tok::from_hf`).
    pub fn from_hf_files(config: &[u8], weights: &[u8], tokenizer: &[u8], tokenizer_config: Option<&[u8]>) -> Result<Self> {
        let cfg = Config::from_json(config)?;
        let tok = Tok::from_hf(tokenizer, tokenizer_config, config)?;
        if tok.vocab_size() > cfg.vocab_size {
            return Err(Error::Tokenizer(format!(
                "tokenizer has {} tokens but the model only {}: wrong tokenizer for this model?",
                tok.vocab_size(),
                cfg.vocab_size
            )));
        }
        if weights.len() > MAX_WEIGHT_BYTES {
            return Err(Error::Weights(format!("file of {} bytes is too large", weights.len())));
        }
        let tensors = candle_core::safetensors::load_buffer(weights, &Device::Cpu)
            .map_err(|e| Error::Weights(e.to_string()))?;
        let mut f32_tensors = std::collections::HashMap::new();
        for (name, t) in tensors {
            let t = t.to_dtype(DType::F32).map_err(|e| Error::Weights(format!("{name}: {e}")))?;
            f32_tensors.insert(name, t);
        }
        Self::from_parts(&cfg, f32_tensors, tok, sha256_hex(weights))
    }

    /// A model from a validated config, f32 weights under Hugging Face names,
    /// a tokenizer and the hash of the file the weights came from.
    pub fn from_parts(cfg: &Config, tensors: HashMap<String, Tensor>, tok: Tok, weights_sha256: String) -> Result<Self> {
        let vb = VarBuilder::from_tensors(tensors.clone(), DType::F32, &Device::Cpu);
        let llama = Llama::new(cfg, vb, false).map_err(|e| Error::Weights(e.to_string()))?;
        Ok(Self { llama, tensors, tok, weights_sha256 })
    }

    /// A trainable copy of the weights: the model for training (differentiable
    /// ops), a view of the same weights for fast inference (it sees every update),
    /// and the variables. The base model is untouched.
    pub fn trainable_copy(&self) -> Result<Trainable> {
        let vm = VarMap::new();
        {
            let mut data = vm.data().lock().map_err(|_| Error::Other("poisoned lock".into()))?;
            for (name, t) in &self.tensors {
                data.insert(name.clone(), Var::from_tensor(&t.copy()?)?);
            }
        }
        let cfg = self.llama.config();
        let train = Llama::new(cfg, VarBuilder::from_varmap(&vm, DType::F32, &Device::Cpu), true)?;
        let view = Llama::new(cfg, VarBuilder::from_varmap(&vm, DType::F32, &Device::Cpu), false)?;
        Ok(Trainable { train, view, vars: vm })
    }

    /// Short form of the weight hash for tables.
    pub fn short_hash(&self) -> &str {
        &self.weights_sha256[..12]
    }
}

pub struct Trainable {
    pub train: Llama,
    pub view: Llama,
    pub vars: VarMap,
}

impl Trainable {
    /// The variables in name order (a fixed order keeps training deterministic).
    pub fn sorted_vars(&self) -> Vec<Var> {
        sorted_vars(&self.vars)
    }
}

/// The variables of `vm` in name order.
pub fn sorted_vars(vm: &VarMap) -> Vec<Var> {
    let data = vm.data().lock().expect("var map lock");
    let mut v: Vec<(&String, &Var)> = data.iter().collect();
    v.sort_by(|a, b| a.0.cmp(b.0));
    v.into_iter().map(|(_, var)| var.clone()).collect()
}

/// The current weights of `vm` by name.
pub fn named_tensors(vm: &VarMap) -> Vec<(String, Tensor)> {
    let data = vm.data().lock().expect("var map lock");
    data.iter().map(|(n, v)| (n.clone(), v.as_tensor().clone())).collect()
}

/// Serialises named tensors to safetensors bytes, names sorted so the bytes (and
/// so the hash) depend only on the values.
pub fn to_safetensors(tensors: &[(String, Tensor)]) -> Result<Vec<u8>> {
    let mut sorted: Vec<(String, Tensor)> = tensors.to_vec();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let views: Vec<(String, Tensor)> = sorted
        .into_iter()
        .map(|(n, t)| Ok((n, t.to_dtype(DType::F32)?.contiguous()?)))
        .collect::<Result<_>>()?;
    safetensors::serialize(views.iter().map(|(n, t)| (n.as_str(), t)), None)
        .map_err(|e| Error::Weights(e.to_string()))
}
