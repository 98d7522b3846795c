//! Sharpening Lab core: a small Llama-style transformer on candle, seeded
//! sampling, self-rewards, best-of-N, exact answer distributions and
//! SFT-Sharpening (arXiv 2412.01951). No web code, no file paths, no threads of
//! its own (but `runtime::inline`'s one-thread pool natively): models load
//! from bytes, so the same core runs natively and in wasm.

pub mod app;
pub mod builtin;
pub mod decode;
pub mod error;
pub mod fuzzing;
pub mod gpu;
pub mod memory;
pub mod model;
pub mod report;
pub mod reward;
pub mod rng;
#[cfg(not(target_arch = "wasm32"))]
pub mod runtime;
pub mod sample;
pub mod score;
pub mod sharpen;
pub mod tasks;
pub mod throughput;
pub mod train;
pub mod ui;
#[cfg(target_arch = "wasm32")]
pub mod web;

pub use error::{Error, Result};

/// The crate version, stamped on every report.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
