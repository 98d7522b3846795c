//! The Llama weight names, spelled once: Hugging Face's layout (what
//! safetensors folders, the built-in models, training and the GPU path use)
//! and llama.cpp's GGUF names beside it, with each projection's shape.

use super::config::Config;

pub const EMBED: &str = "model.embed_tokens.weight";
pub const FINAL_NORM: &str = "model.norm.weight";
pub const LM_HEAD: &str = "lm_head.weight";

/// The seven projections of a block, in the order the code keeps them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Projection {
    Q,
    K,
    V,
    O,
    Gate,
    Up,
    Down,
}

impl Projection {
    pub const ALL: [Projection; 7] = [Self::Q, Self::K, Self::V, Self::O, Self::Gate, Self::Up, Self::Down];

    /// The Hugging Face name inside a block (`self_attn.q_proj`).
    pub fn hf(self) -> &'static str {
        match self {
            Self::Q => "self_attn.q_proj",
            Self::K => "self_attn.k_proj",
            Self::V => "self_attn.v_proj",
            Self::O => "self_attn.o_proj",
            Self::Gate => "mlp.gate_proj",
            Self::Up => "mlp.up_proj",
            Self::Down => "mlp.down_proj",
        }
    }

    /// llama.cpp's GGUF name inside a block (`attn_q`).
    pub fn gguf(self) -> &'static str {
        match self {
            Self::Q => "attn_q",
            Self::K => "attn_k",
            Self::V => "attn_v",
            Self::O => "attn_output",
            Self::Gate => "ffn_gate",
            Self::Up => "ffn_up",
            Self::Down => "ffn_down",
        }
    }

    /// The weight's shape `[out, in]` under `cfg`.
    pub fn shape(self, cfg: &Config) -> (usize, usize) {
        let (d, f, kv) = (cfg.hidden_size, cfg.intermediate_size, cfg.kv_heads() * cfg.head_dim());
        match self {
            Self::Q | Self::O => (d, d),
            Self::K | Self::V => (kv, d),
            Self::Gate | Self::Up => (f, d),
            Self::Down => (d, f),
        }
    }
}

/// A block's two RMSNorm weights: (Hugging Face, GGUF) names inside a block.
pub const ATTN_NORM: (&str, &str) = ("input_layernorm", "attn_norm");
pub const MLP_NORM: (&str, &str) = ("post_attention_layernorm", "ffn_norm");

/// `model.layers.{layer}`: the prefix of a block's weights.
pub fn block(layer: usize) -> String {
    format!("model.layers.{layer}")
}

/// The full name of a block's projection weight (`model.layers.3.mlp.up_proj.weight`).
pub fn projection(layer: usize, p: Projection) -> String {
    format!("{}.{}.weight", block(layer), p.hf())
}

/// The full name of one of a block's norms (`ATTN_NORM` or `MLP_NORM`).
pub fn norm(layer: usize, which: (&str, &str)) -> String {
    format!("{}.{}.weight", block(layer), which.0)
}

/// llama.cpp's name of the output head (absent when it is tied to the embedding).
pub const GGUF_LM_HEAD: &str = "output.weight";

/// The Hugging Face name of a GGUF tensor (None for tensors we do not use).
pub fn hf_of_gguf(gguf: &str) -> Option<String> {
    match gguf {
        "token_embd.weight" => return Some(EMBED.into()),
        "output_norm.weight" => return Some(FINAL_NORM.into()),
        GGUF_LM_HEAD => return Some(LM_HEAD.into()),
        _ => {}
    }
    let (layer, part) = gguf.strip_prefix("blk.")?.split_once('.')?;
    let layer: usize = layer.parse().ok()?;
    let part = part.strip_suffix(".weight")?;
    if let Some(p) = Projection::ALL.into_iter().find(|p| p.gguf() == part) {
        return Some(projection(layer, p));
    }
    [ATTN_NORM, MLP_NORM].into_iter().find(|n| n.1 == part).map(|n| norm(layer, n))
}
