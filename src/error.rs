//! One error type for the whole core. Every failure that user input can cause
//! (a bad model file, a wrong tokenizer, an out-of-range parameter, NaN during
//! training) surfaces as one of these, never as a panic.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    /// The model's config (JSON) is malformed or inconsistent.
    #[error("bad model config: {0}")]
    Config(String),
    /// The weights could not be read or do not fit the config.
    #[error("bad model weights: {0}")]
    Weights(String),
    /// The tokenizer could not be read or does not fit the model.
    #[error("bad tokenizer: {0}")]
    Tokenizer(String),
    /// A parameter is out of range (N = 0, temperature < 0, ...).
    #[error("invalid parameter: {0}")]
    Param(String),
    /// Training diverged: a loss or gradient was NaN or infinite.
    #[error("training stopped: {0}")]
    NonFinite(String),
    /// An error inside candle (tensor shapes, dtypes).
    #[error("tensor error: {0}")]
    Tensor(#[from] candle_core::Error),
    /// The GPU path failed (no adapter, a limit, a lost device); callers
    /// fall back to the CPU path.
    #[error("GPU: {0}")]
    Gpu(String),
    /// The caller's progress callback asked to stop.
    #[error("cancelled")]
    Cancelled,
    #[error("{0}")]
    Other(String),
}

pub type Result<T> = std::result::Result<T, Error>;

/// Shorthand for returning a parameter error.
pub fn param_err<T>(msg: impl Into<String>) -> Result<T> {
    Err(Error::Param(msg.into()))
}

/// The first failed check's message as a parameter error: each check is
/// `(bad, message)`.
pub fn check(checks: &[(bool, &str)]) -> Result<()> {
    match checks.iter().find(|c| c.0) {
        Some((_, msg)) => param_err(*msg),
        None => Ok(()),
    }
}
