//! The transformer: its config, tokenizer, weights, forward pass and KV cache.

pub mod bundle;
pub mod chat_template;
pub mod cache;
pub mod config;
pub mod gguf;
pub mod llama;
pub mod log_softmax;
pub mod names;
pub mod peft;
pub mod q8;
pub mod tokenizer;

pub use bundle::Model;
pub use cache::KvCache;
pub use config::Config;
pub use llama::Llama;
pub use log_softmax::{log_prob_of, log_softmax_row};
pub use tokenizer::Tok;
