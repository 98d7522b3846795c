//! Sampling and scoring on the GPU path. [`GpuDecode`] keeps one decoder per
//! row count in use (best-of-N alternates N samples and one greedy answer)
//! and one scoring decoder, rebuilt only when a longer sequence comes, over
//! weights uploaded once. It implements the decoding seam (`decode::Decode`
//! and `decode::Score`), so `sample::sample_on`, best-of-N and the explorer
//! draw from the GPU's logits with the same per-row random streams and
//! choices as the CPU path: natively blocking on each readback, in the
//! browser awaiting it. A prompt is prefilled once for all rows.

use std::collections::HashMap;

use super::decoder::{GpuDecoder, GpuModel};
use crate::decode::{Decode, Fut, Score};
use crate::error::{Error, Result};
use crate::score::Scored;

/// Sequences a scoring decoder holds at once (its KV cache: SmolLM2-135M,
/// 256 positions: 94 MB).
pub const SCORE_SLOTS: usize = 8;

pub struct GpuDecode<'m, 'g> {
    pub model: &'m GpuModel<'g>,
    decoders: HashMap<usize, GpuDecoder<'g>>,
    /// The row count of the running batch.
    current: usize,
    scorer: Option<GpuDecoder<'g>>,
}

fn split(logits: Vec<f32>, rows: usize) -> Vec<Vec<f32>> {
    let v = logits.len() / rows.max(1);
    logits.chunks(v.max(1)).map(<[f32]>::to_vec).collect()
}

impl<'m, 'g> GpuDecode<'m, 'g> {
    pub fn new(model: &'m GpuModel<'g>) -> Self {
        Self { model, decoders: Default::default(), current: 0, scorer: None }
    }

    /// The decoder for `n` rows of up to `max_len` tokens (the old one freed
    /// first when it is too short).
    fn decoder(&mut self, n: usize, max_len: usize) -> Result<&mut GpuDecoder<'g>> {
        if self.decoders.get(&n).is_none_or(|d| d.capacity() < max_len) {
            self.decoders.remove(&n);
            self.decoders.insert(n, GpuDecoder::new(self.model, n, max_len)?);
        }
        self.current = n;
        Ok(self.decoders.get_mut(&n).expect("inserted above"))
    }

    /// `n` rows started on `prompt` (prefilled once): each row's logits.
    async fn start_async(&mut self, prompt: &[u32], n: usize, max_len: usize) -> Result<Vec<Vec<f32>>> {
        let dec = self.decoder(n, max_len)?;
        Ok(split(dec.prompt_async(prompt).await?, n))
    }

    /// One token per row of the running batch: each row's logits.
    async fn next_async(&mut self, ids: &[u32]) -> Result<Vec<Vec<f32>>> {
        let dec = self.decoders.get_mut(&self.current).ok_or_else(|| Error::Other("decoding before start".into()))?;
        Ok(split(dec.step_async(ids).await?, ids.len()))
    }

    /// `score::token_logps` on the GPU (scoring passes of a decoder of
    /// [`SCORE_SLOTS`] sequences, rebuilt when a longer item comes).
    async fn token_logps_async(&mut self, items: &[Scored<'_>]) -> Result<Vec<Vec<f64>>> {
        if items.is_empty() {
            return Ok(vec![]);
        }
        let need = items.iter().map(|it| it.prompt.len() + it.continuation.len()).max().unwrap_or(1);
        if self.scorer.as_ref().is_none_or(|d| d.capacity() < need) {
            self.scorer = None;
            self.scorer = Some(GpuDecoder::new(self.model, SCORE_SLOTS, need.next_power_of_two().max(64).min(self.model.max_len()))?);
        }
        self.scorer.as_mut().expect("built above").token_logps_async(items).await
    }
}

impl Score for GpuDecode<'_, '_> {
    fn token_logps<'a>(&'a mut self, items: &'a [Scored<'a>]) -> Fut<'a, Vec<Vec<f64>>> {
        Box::pin(self.token_logps_async(items))
    }
}

impl Decode for GpuDecode<'_, '_> {
    fn max_positions(&self) -> usize {
        self.model.max_len()
    }

    fn start<'a>(&'a mut self, prompt: &'a [u32], n: usize, max_len: usize) -> Fut<'a, Vec<Vec<f32>>> {
        Box::pin(self.start_async(prompt, n, max_len))
    }

    fn next<'a>(&'a mut self, ids: &'a [u32]) -> Fut<'a, Vec<Vec<f32>>> {
        Box::pin(self.next_async(ids))
    }

    /// "WebGPU" in the browser, "GPU" natively, with the weights' storage
    /// when it is not f32.
    fn label(&self) -> String {
        let api = if cfg!(target_arch = "wasm32") { "WebGPU" } else { "GPU" };
        if self.model.precision() == super::Precision::F16 { format!("{api} (f16 weights)") } else { api.into() }
    }
}
