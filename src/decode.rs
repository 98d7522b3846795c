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
//! Backends, one type per model variant: [`CpuDecode`] (candle's dense f32
//! model, the reference: training and scoring use it too), [`Q8Decode`] (the
//! 8-bit decoding path of a quantised real model, `model::llama::q8_forward`)
//! and `gpu::sample::GpuDecode` (WGSL kernels through wgpu). [`on_cpu`]
//! picks the CPU one a model decodes with. The CPU backends return ready
//! futures, the GPU's awaits each readback; native callers block with
//! [`block_on`], the browser's worker awaits.

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

/// The CPU backend `model` decodes with: the 8-bit path when every
/// projection has an 8-bit copy (`Llama::decodes_on_q8`: a quantised real
/// model), else candle's f32 path.
pub fn on_cpu(model: &Llama) -> Box<dyn Decode + '_> {
    if model.decodes_on_q8() {
        Box::new(Q8Decode::new(model))
    } else {
        Box::new(CpuDecode::new(model))
    }
}

/// Which forward pass a CPU decoder runs.
pub trait CpuPath {
    /// Whether its logits are the f32 model's (`Decode::logits_are_exact`).
    const EXACT: bool;
    const LABEL: &'static str;
    fn forward(m: &Llama, ids: &Tensor, cache: &mut KvCache) -> Result<Tensor>;
}

/// Candle's dense f32 model: the reference every backend is checked against.
pub struct Dense;

impl CpuPath for Dense {
    const EXACT: bool = true;
    const LABEL: &'static str = "CPU";
    fn forward(m: &Llama, ids: &Tensor, cache: &mut KvCache) -> Result<Tensor> {
        m.forward(ids, Some(cache))
    }
}

/// The 8-bit decoding path of a quantised model (the same bits natively and
/// in wasm). Its logits approximate the f32 model's, so samples are rescored
/// in f32.
pub struct EightBit;

impl CpuPath for EightBit {
    const EXACT: bool = false;
    const LABEL: &'static str = "CPU (8-bit decoding)";
    fn forward(m: &Llama, ids: &Tensor, cache: &mut KvCache) -> Result<Tensor> {
        m.forward_q8(ids, cache)
    }
}

/// A CPU decoder on path `P`: one forward pass over the prompt, the KV cache
/// fanned out to `n` rows, then one pass per token; scoring is always the
/// f32 model's, in batched passes ([`crate::score::token_logps`]).
pub struct Cpu<'a, P> {
    pub model: &'a Llama,
    cache: Option<KvCache>,
    path: std::marker::PhantomData<P>,
}

/// Candle's f32 model on the CPU.
pub type CpuDecode<'a> = Cpu<'a, Dense>;
/// The 8-bit decoding path on the CPU.
pub type Q8Decode<'a> = Cpu<'a, EightBit>;

impl<'a, P: CpuPath> Cpu<'a, P> {
    pub fn new(model: &'a Llama) -> Self {
        Self { model, cache: None, path: std::marker::PhantomData }
    }

    fn start_now(&mut self, prompt: &[u32], n: usize) -> Result<Vec<Vec<f32>>> {
        let mut cache = KvCache::new(self.model.config().num_hidden_layers);
        let ids = Tensor::new(prompt, self.model.device())?.unsqueeze(0)?;
        let logits = P::forward(self.model, &ids, &mut cache)?;
        let last = logits.narrow(1, prompt.len() - 1, 1)?.squeeze(1)?.to_vec2::<f32>()?;
        self.cache = Some(cache.fan_out(n)?);
        Ok(vec![last[0].clone(); n])
    }

    fn next_now(&mut self, ids: &[u32]) -> Result<Vec<Vec<f32>>> {
        let cache = self.cache.as_mut().ok_or_else(|| Error::Other("decoding before start".into()))?;
        let ids = Tensor::new(ids, self.model.device())?.unsqueeze(1)?;
        Ok(P::forward(self.model, &ids, cache)?.squeeze(1)?.to_vec2::<f32>()?)
    }
}

impl<P> Score for Cpu<'_, P> {
    fn token_logps<'a>(&'a mut self, items: &'a [Scored<'a>]) -> Fut<'a, Vec<Vec<f64>>> {
        ready(crate::score::token_logps(self.model, items))
    }
}

impl<P: CpuPath> Decode for Cpu<'_, P> {
    fn max_positions(&self) -> usize {
        self.model.config().max_position_embeddings
    }

    fn logits_are_exact(&self) -> bool {
        P::EXACT
    }

    fn start<'a>(&'a mut self, prompt: &'a [u32], n: usize, _max_len: usize) -> Fut<'a, Vec<Vec<f32>>> {
        ready(self.start_now(prompt, n))
    }

    fn next<'a>(&'a mut self, ids: &'a [u32]) -> Fut<'a, Vec<Vec<f32>>> {
        ready(self.next_now(ids))
    }

    fn label(&self) -> String {
        P::LABEL.into()
    }
}
