//! The decoding seam: what an experiment needs from a backend, written once
//! as asynchronous traits so that one loop (sampling, best-of-N, the
//! explorer, every later experiment) runs on the CPU and on the GPU, natively
//! and in the browser.
//!
//! * [`Score`]: per-token `log pi(y_t | x, y_<t)` of (prompt, continuation)
//!   pairs (the Eq. 2 self-reward is their sum; self-verification scores one
//!   token).
//! * [`Decode`]: each row's next-token logits after a prompt, then after each
//!   token fed.
//!
//! Backends: [`CpuDecode`] (candle's dense f32 path, or the 8-bit decoding
//! path of a quantised real model: the model itself says which, see
//! `Llama::decodes_on_q8`) returns ready futures; `gpu::sample::GpuDecode`
//! awaits each readback. Native callers block with [`block_on`]; the
//! browser's worker awaits.

use std::future::Future;
use std::pin::Pin;

use candle_core::Tensor;

use crate::error::{Error, Result};
use crate::model::{KvCache, Llama};
use crate::score::Scored;

/// A backend's answer: a boxed future, so the traits stay object-safe
/// (`&mut dyn Decode`) and need no `Send` (the browser has one thread).
pub type Fut<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + 'a>>;

/// A future that is ready at once (the CPU backends).
pub fn ready<'a, T: 'a>(r: Result<T>) -> Fut<'a, T> {
    Box::pin(std::future::ready(r))
}

/// Runs a backend's future to its end. Natively it blocks (the GPU's
/// readbacks through `pollster`); in wasm a thread cannot block, so only a
/// ready future (the CPU's) may be driven this way and any other is an error
/// (the worker awaits those instead).
pub fn block_on<T>(f: impl Future<Output = Result<T>>) -> Result<T> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        pollster::block_on(f)
    }
    #[cfg(target_arch = "wasm32")]
    {
        let mut f = std::pin::pin!(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(r) => r,
            std::task::Poll::Pending => Err(Error::Other("a GPU computation was driven synchronously in the browser (it must be awaited)".into())),
        }
    }
}

/// A backend that scores (prompt, continuation) pairs.
pub trait Score {
    /// Per-position log-probabilities of each continuation token.
    fn token_logps<'a>(&'a mut self, items: &'a [Scored<'a>]) -> Fut<'a, Vec<Vec<f64>>>;
}

/// Total log-probability of each continuation (Eq. 2's `log pi(y|x)`).
pub async fn score(scorer: &mut dyn Score, items: &[Scored<'_>]) -> Result<Vec<f64>> {
    Ok(scorer.token_logps(items).await?.into_iter().map(|v| v.iter().sum()).collect())
}

/// A backend that decodes (and scores on the same device).
pub trait Decode: Score {
    /// Longest sequence (prompt + answer) the backend decodes.
    fn max_positions(&self) -> usize;
    /// Whether the logits this backend decodes with are the model's own f32
    /// ones (up to float rounding), so a sample's log-probability from them is
    /// `log pi(y|x)`. False for the CPU's 8-bit decoding path:
    /// `sample::sample_on` then rescores every complete sample through
    /// [`Score`].
    fn logits_are_exact(&self) -> bool {
        true
    }
    /// Starts `n` rows on `prompt` (room for `max_len` tokens in all): each
    /// row's next-token logits.
    fn start<'a>(&'a mut self, prompt: &'a [u32], n: usize, max_len: usize) -> Fut<'a, Vec<Vec<f32>>>;
    /// Feeds one token per row: each row's next-token logits.
    fn next<'a>(&'a mut self, ids: &'a [u32]) -> Fut<'a, Vec<Vec<f32>>>;
    /// Where it runs, as chart stamps say it ("CPU", "WebGPU (f16 weights)").
    fn label(&self) -> String;
}

/// The CPU path: one forward pass over the prompt, the KV cache fanned out
/// to `n` rows, then one pass per token; scoring in batched passes
/// ([`crate::score::token_logps`]).
pub struct CpuDecode<'a> {
    pub model: &'a Llama,
    cache: Option<KvCache>,
}

impl<'a> CpuDecode<'a> {
    pub fn new(model: &'a Llama) -> Self {
        Self { model, cache: None }
    }

    fn start_now(&mut self, prompt: &[u32], n: usize) -> Result<Vec<Vec<f32>>> {
        let dev = self.model.device();
        let mut cache = KvCache::new(self.model.config().num_hidden_layers);
        let ids = Tensor::new(prompt, dev)?.unsqueeze(0)?;
        let logits = self.model.forward(&ids, Some(&mut cache))?;
        let last = logits.narrow(1, prompt.len() - 1, 1)?.squeeze(1)?.to_vec2::<f32>()?;
        self.cache = Some(cache.fan_out(n)?);
        Ok(vec![last[0].clone(); n])
    }

    fn next_now(&mut self, ids: &[u32]) -> Result<Vec<Vec<f32>>> {
        let cache = self.cache.as_mut().ok_or_else(|| Error::Other("decoding before start".into()))?;
        let ids = Tensor::new(ids, self.model.device())?.unsqueeze(1)?;
        Ok(self.model.forward(&ids, Some(cache))?.squeeze(1)?.to_vec2::<f32>()?)
    }
}

impl Score for CpuDecode<'_> {
    fn token_logps<'a>(&'a mut self, items: &'a [Scored<'a>]) -> Fut<'a, Vec<Vec<f64>>> {
        ready(crate::score::token_logps(self.model, items))
    }
}

impl Decode for CpuDecode<'_> {
    fn max_positions(&self) -> usize {
        self.model.config().max_position_embeddings
    }

    fn logits_are_exact(&self) -> bool {
        !self.model.decodes_on_q8()
    }

    fn start<'a>(&'a mut self, prompt: &'a [u32], n: usize, _max_len: usize) -> Fut<'a, Vec<Vec<f32>>> {
        ready(self.start_now(prompt, n))
    }

    fn next<'a>(&'a mut self, ids: &'a [u32]) -> Fut<'a, Vec<Vec<f32>>> {
        ready(self.next_now(ids))
    }

    fn label(&self) -> String {
        "CPU".into()
    }
}
