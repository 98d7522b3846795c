//! Llama-family GGUF files (llama.cpp's format), from bytes: the config from
//! the metadata, every weight dequantised to f32 under the Hugging Face names
//! our decoder uses, the tokenizer rebuilt from the vocabulary and merges in the
//! metadata (byte-level BPE, digits split one per token), and the chat template
//! the file carries (rendered with minijinja: `chat_template`).
//!
//! llama.cpp's converter permutes the rows of the query and key projections so
//! that its rotary embedding can rotate adjacent pairs `(x[2i], x[2i+1])`; our
//! decoder rotates halves `(x[i], x[i + d/2])` like Hugging Face's, so those
//! rows are permuted back here (checked against an independent NumPy forward
//! pass that uses the file's layout as is: `tests/reference/gguf_numpy.py`).

use std::collections::HashMap;
use std::io::Cursor;


use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::quantized::GgmlDType;
use candle_core::{DType, Device, Tensor};

use super::bundle::{sha256_hex, Model};
use super::chat_template::ChatTemplate;
use super::tokenizer::{PromptFormat, Tok};
use super::Config;
use crate::error::{Error, Result};

/// Largest dequantised (f32) model the native loader accepts.
/// (wasm32 addresses 4 GiB in all: there the limit is 3 GiB.)
pub const MAX_F32_BYTES: usize = if usize::BITS > 32 { 8 << 30 } else { 3 << 30 };

fn bad(msg: impl Into<String>) -> Error {
    Error::Weights(msg.into())
}

fn meta<'a>(c: &'a Content, key: &str) -> Result<&'a Value> {
    c.metadata.get(key).ok_or_else(|| bad(format!("GGUF metadata lacks {key}")))
}

fn meta_usize(c: &Content, key: &str) -> Result<usize> {
    let v = meta(c, key)?;
    v.to_u32().map(|v| v as usize).or_else(|_| v.to_u64().map(|v| v as usize)).map_err(|e| bad(format!("{key}: {e}")))
}

fn meta_f64(c: &Content, key: &str, default: f64) -> f64 {
    c.metadata.get(key).and_then(|v| v.to_f32().ok()).map_or(default, f64::from)
}

fn meta_strings(c: &Content, key: &str) -> Result<Vec<String>> {
    let arr = meta(c, key)?.to_vec().map_err(|e| bad(format!("{key}: {e}")))?;
    arr.iter().map(|v| v.to_string().cloned().map_err(|e| bad(format!("{key}: {e}")))).collect()
}

/// Undoes llama.cpp's query/key row permutation for `heads` heads.
fn unpermute(w: &Tensor, heads: usize) -> Result<Tensor> {
    let (out, inp) = w.dims2()?;
    if heads == 0 || out % (2 * heads) != 0 {
        return Err(bad(format!("projection with {out} rows does not split into {heads} rotary heads")));
    }
    Ok(w.reshape((heads, out / heads / 2, 2, inp))?.transpose(1, 2)?.contiguous()?.reshape((out, inp))?)
}

fn config(c: &Content) -> Result<Config> {
    let arch = meta(c, "general.architecture")?.to_string().map_err(|e| bad(e.to_string()))?;
    if arch != "llama" {
        return Err(bad(format!("unsupported architecture {arch:?}: only Llama-family GGUF files load")));
    }
    let vocab = match meta_usize(c, "llama.vocab_size") {
        Ok(v) => v,
        Err(_) => meta(c, "tokenizer.ggml.tokens")?.to_vec().map_err(|e| bad(e.to_string()))?.len(),
    };
    let cfg = Config {
        vocab_size: vocab,
        hidden_size: meta_usize(c, "llama.embedding_length")?,
        intermediate_size: meta_usize(c, "llama.feed_forward_length")?,
        num_hidden_layers: meta_usize(c, "llama.block_count")?,
        num_attention_heads: meta_usize(c, "llama.attention.head_count")?,
        num_key_value_heads: meta_usize(c, "llama.attention.head_count_kv").ok(),
        rms_norm_eps: meta_f64(c, "llama.attention.layer_norm_rms_epsilon", 1e-5),
        rope_theta: meta_f64(c, "llama.rope.freq_base", 10_000.0),
        max_position_embeddings: meta_usize(c, "llama.context_length")?.min(1 << 15),
        tie_word_embeddings: !c.tensor_infos.contains_key(super::names::GGUF_LM_HEAD),
    };
    let json = serde_json::to_vec(&cfg).map_err(|e| bad(e.to_string()))?;
    Config::from_json(&json)
}

/// The prompt format: the chat template in the metadata (rendered with
/// the vocabulary's BOS/EOS text), or plain text after BOS without one.
fn prompt_format(c: &Content, tokens: &[String], bos: u32, eos: u32) -> Result<PromptFormat> {
    let Some(t) = c.metadata.get("tokenizer.chat_template").and_then(|v| v.to_string().ok()) else {
        return Ok(PromptFormat::Bos);
    };
    let piece = |i: u32| tokens.get(i as usize).cloned().unwrap_or_default();
    Ok(PromptFormat::Chat(ChatTemplate::new(t, &piece(bos), &piece(eos))?))
}

fn tokenizer(c: &Content) -> Result<Tok> {
    let model = c.metadata.get("tokenizer.ggml.model").and_then(|v| v.to_string().ok()).cloned().unwrap_or_default();
    if model != "gpt2" {
        return Err(Error::Tokenizer(format!("unsupported GGUF tokenizer {model:?}: only byte-level BPE (gpt2) is supported")));
    }
    let tokens = meta_strings(c, "tokenizer.ggml.tokens").map_err(|e| Error::Tokenizer(e.to_string()))?;
    let merges = meta_strings(c, "tokenizer.ggml.merges").map_err(|e| Error::Tokenizer(e.to_string()))?;
    let types: Vec<i64> = match c.metadata.get("tokenizer.ggml.token_type").and_then(|v| v.to_vec().ok()) {
        Some(v) => v.iter().map(|x| x.to_i32().map(i64::from).unwrap_or(1)).collect(),
        None => vec![1; tokens.len()],
    };
    let id = |k: &str| c.metadata.get(k).and_then(|v| v.to_u32().ok());
    let eos = id("tokenizer.ggml.eos_token_id").ok_or_else(|| Error::Tokenizer("GGUF metadata lacks the end-of-text token".into()))?;
    let bos = id("tokenizer.ggml.bos_token_id").unwrap_or(eos);
    let digits = c.metadata.get("tokenizer.ggml.pre").and_then(|v| v.to_string().ok()).is_some_and(|p| p == "smollm");
    let format = prompt_format(c, &tokens, bos, eos)?;
    Tok::byte_level_bpe(&tokens, &merges, &types, bos, eos, digits, format)
}

/// How the matrix weights of a GGUF model are held for inference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weights {
    /// Dequantised to f32: the exact reference (and what training uses).
    F32,
    /// Also 8-bit copies (`model::q8`, Q8_0-style blocks made from the f32
    /// weights) of every projection and the output head that the file
    /// quantises, read when decoding (prefill and sampling steps;
    /// activations quantised per block too, as llama.cpp does). Decoded
    /// log-probabilities stay within a few tenths of a nat per token of the
    /// f32 path (tests/suite/real_model.rs); F32/F16/BF16 tensors stay dense only.
    Quantized,
}

impl Weights {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "f32" => Ok(Self::F32),
            "quantized" | "quantised" => Ok(Self::Quantized),
            _ => crate::error::param_err(format!("weights {s:?}: use f32 or quantized")),
        }
    }
}

/// Bytes a loaded model occupies, from the file's header alone (the header
/// is read from `bytes`; the tensors need not be there yet): the file itself,
/// every tensor as f32, and the 8-bit copy of the quantised ones (`model::q8`:
/// 1 byte per weight + 4 per block of 32, i.e. 9/32 of their f32 size).
/// A tensor's element count (usize::MAX when its declared shape overflows:
/// a corrupt file, then refused as too large).
pub(crate) fn elems(i: &candle_core::quantized::gguf_file::TensorInfo) -> usize {
    i.shape.dims().iter().try_fold(1usize, |a, &d| a.checked_mul(d)).unwrap_or(usize::MAX)
}

/// A tensor's size as stored (blocks of its type), saturating.
fn stored_bytes(i: &candle_core::quantized::gguf_file::TensorInfo) -> usize {
    (elems(i) / i.ggml_dtype.block_size()).saturating_mul(i.ggml_dtype.type_size())
}

/// The tensor whose stored bytes end furthest, with that end, when it is
/// past `len` bytes (a truncated file); the one check the loader and the
/// page's download check share.
pub(crate) fn tensor_past_end(content: &Content, len: usize) -> Option<(&str, usize)> {
    let end = |i: &candle_core::quantized::gguf_file::TensorInfo| (content.tensor_data_offset as usize).saturating_add(i.offset as usize).saturating_add(stored_bytes(i));
    content.tensor_infos.iter().map(|(n, i)| (end(i), n.as_str())).max().filter(|&(e, _)| e > len).map(|(e, n)| (n, e))
}

pub fn memory_needed(bytes: &[u8]) -> Result<usize> {
    let content = Content::read(&mut Cursor::new(bytes)).map_err(|e| bad(format!("not a readable GGUF file: {e}")))?;
    let f32_of = |i: &candle_core::quantized::gguf_file::TensorInfo| elems(i).saturating_mul(4);
    let f32_bytes = content.tensor_infos.values().fold(0usize, |a, i| a.saturating_add(f32_of(i)));
    let quantised = content.tensor_infos.values().filter(|i| !matches!(i.ggml_dtype, GgmlDType::F32 | GgmlDType::F16 | GgmlDType::BF16));
    let q8_bytes = quantised.fold(0usize, |a, i| a.saturating_add(f32_of(i) / 32 * 9));
    Ok(f32_bytes.saturating_add(bytes.len()).saturating_add(q8_bytes))
}

/// Loads a Llama-family GGUF model from its bytes, matrix weights held as `weights` says.
pub fn load_gguf(bytes: &[u8], weights: Weights) -> Result<Model> {
    let mut r = Cursor::new(bytes);
    let content = Content::read(&mut r).map_err(|e| bad(format!("not a readable GGUF file: {e}")))?;
    let cfg = config(&content)?;
    let tok = tokenizer(&content)?;
    if tok.vocab_size() > cfg.vocab_size {
        return Err(Error::Tokenizer(format!("tokenizer has {} tokens but the model only {}", tok.vocab_size(), cfg.vocab_size)));
    }
    if let Some((name, _)) = tensor_past_end(&content, bytes.len()) {
        return Err(bad(format!("tensor {name} runs past the end of the file (truncated?)")));
    }
    // Refuse absurd sizes before allocating anything.
    let mut f32_bytes = 0usize;
    for (name, info) in &content.tensor_infos {
        let n = elems(info);
        // candle views a tensor's bytes as blocks; an empty one would be a misaligned (dangling) view (found by fuzzing).
        if n == 0 {
            return Err(bad(format!("tensor {name} has no elements (shape {:?})", info.shape.dims())));
        }
        f32_bytes = f32_bytes.saturating_add(n.saturating_mul(4));
    }
    if f32_bytes > MAX_F32_BYTES {
        return Err(bad(format!("the model needs {} MB as f32, more than the {} MB allowed", f32_bytes >> 20, MAX_F32_BYTES >> 20)));
    }
    let (heads, kv_heads) = (cfg.num_attention_heads, cfg.kv_heads());
    let mut tensors = HashMap::new();
    let mut quantized = std::collections::HashSet::new();
    for name in content.tensor_infos.keys() {
        let Some(hf) = super::names::hf_of_gguf(name) else { continue };
        let q = content.tensor(&mut r, name, &Device::Cpu).map_err(|e| bad(format!("{name}: {e}")))?;
        use super::names::Projection;
        let is = |p: Projection| hf.ends_with(&format!("{}.weight", p.hf()));
        let rotary_heads = if is(Projection::Q) {
            Some(heads)
        } else if is(Projection::K) {
            Some(kv_heads)
        } else {
            None
        };
        let mut t = q.dequantize(&Device::Cpu).map_err(|e| bad(format!("{name}: {e}")))?.to_dtype(DType::F32)?;
        if let Some(h) = rotary_heads {
            t = unpermute(&t, h)?;
        }
        let dense = matches!(q.dtype(), GgmlDType::F32 | GgmlDType::F16 | GgmlDType::BF16);
        if weights == Weights::Quantized && !dense && q.shape().rank() == 2 {
            quantized.insert(hf.clone());
        }
        tensors.insert(hf, t);
    }
    let mut model = Model::from_parts(&cfg, tensors, tok, sha256_hex(bytes))?;
    model.llama.use_q8(&quantized)?;
    Ok(model)
}
