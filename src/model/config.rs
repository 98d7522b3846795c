//! Model configuration, read from a `config.json` whose field names follow the
//! Hugging Face Llama config, so real models' configs parse too.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Shape of a Llama-style decoder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    /// Grouped-query attention: this many K/V heads shared by the query heads.
    #[serde(default)]
    pub num_key_value_heads: Option<usize>,
    #[serde(default = "default_eps")]
    pub rms_norm_eps: f64,
    #[serde(default = "default_theta")]
    pub rope_theta: f64,
    pub max_position_embeddings: usize,
    #[serde(default)]
    pub tie_word_embeddings: bool,
}

fn default_eps() -> f64 {
    1e-5
}
fn default_theta() -> f64 {
    10_000.0
}

/// Limits that keep a malicious or corrupt config from asking for absurd memory
/// before a single weight is read.
const MAX_DIM: usize = 1 << 16;
const MAX_LAYERS: usize = 256;
const MAX_VOCAB: usize = 1 << 20;
const MAX_POSITIONS: usize = 1 << 17;

impl Config {
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let cfg: Config =
            serde_json::from_slice(bytes).map_err(|e| Error::Config(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("config serialises")
    }

    pub fn kv_heads(&self) -> usize {
        self.num_key_value_heads.unwrap_or(self.num_attention_heads)
    }

    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }

    /// Number of weights (embedding counted once when tied).
    pub fn num_params(&self) -> usize {
        let (d, f, v) = (self.hidden_size, self.intermediate_size, self.vocab_size);
        let kv = self.kv_heads() * self.head_dim();
        let layer = d * d * 2 + d * kv * 2 + 3 * d * f + 2 * d;
        let head = if self.tie_word_embeddings { 0 } else { v * d };
        v * d + self.num_hidden_layers * layer + d + head
    }

    /// Multiply-adds x 2 of one token's forward pass through the weight matrices
    /// (attention over the context excluded): the usual `2 * params` estimate.
    pub fn flops_per_token(&self) -> f64 {
        let embed = self.vocab_size * self.hidden_size;
        2.0 * (self.num_params() - embed + if self.tie_word_embeddings { embed } else { 0 }) as f64
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        let dims = [
            ("vocab_size", self.vocab_size, MAX_VOCAB),
            ("hidden_size", self.hidden_size, MAX_DIM),
            ("intermediate_size", self.intermediate_size, MAX_DIM * 4),
            ("num_hidden_layers", self.num_hidden_layers, MAX_LAYERS),
            ("num_attention_heads", self.num_attention_heads, MAX_DIM),
            ("max_position_embeddings", self.max_position_embeddings, MAX_POSITIONS),
        ];
        for (name, v, max) in dims {
            if v == 0 || v > max {
                return bad(format!("{name} = {v} is outside 1..={max}"));
            }
        }
        if !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return bad(format!(
                "hidden_size {} is not divisible by num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            ));
        }
        if !self.head_dim().is_multiple_of(2) {
            return bad(format!("head dimension {} must be even for rotary positions", self.head_dim()));
        }
        let kv = self.kv_heads();
        if kv == 0 || !self.num_attention_heads.is_multiple_of(kv) {
            return bad(format!(
                "num_key_value_heads {kv} must divide num_attention_heads {}",
                self.num_attention_heads
            ));
        }
        if !(self.rms_norm_eps.is_finite() && self.rms_norm_eps > 0.0) {
            return bad("rms_norm_eps must be a positive number".into());
        }
        if !(self.rope_theta.is_finite() && self.rope_theta > 1.0) {
            return bad("rope_theta must be a number above 1".into());
        }
        Ok(())
    }
}
