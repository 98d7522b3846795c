//! Sampling and scoring on the GPU path. [`GpuDecode`] keeps one decoder per
//! row count in use (best-of-N alternates N samples and one greedy answer)
//! and one scoring decoder, rebuilt only when a longer sequence comes, over
//! weights uploaded once. Its async methods serve the browser's worker
//! (which cannot block); natively it implements `sample::Decode` and
//! `score::Score`, so `sample::sample_with` draws from the GPU's logits with
//! the same per-row random streams and choices as the CPU path. A prompt is
//! prefilled once for all rows.

use std::collections::HashMap;

use super::decoder::{GpuDecoder, GpuModel};
use crate::error::{Error, Result};
use crate::rng::Stream;
#[cfg(not(target_arch = "wasm32"))]
use crate::sample::Decode;
use crate::sample::{Sample, SampleSettings, Sampler};
#[cfg(not(target_arch = "wasm32"))]
use crate::score::Score;
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
    pub async fn start_async(&mut self, prompt: &[u32], n: usize, max_len: usize) -> Result<Vec<Vec<f32>>> {
        let dec = self.decoder(n, max_len)?;
        Ok(split(dec.prompt_async(prompt).await?, n))
    }

    /// One token per row of the running batch: each row's logits.
    pub async fn next_async(&mut self, ids: &[u32]) -> Result<Vec<Vec<f32>>> {
        let dec = self.decoders.get_mut(&self.current).ok_or_else(|| Error::Other("decoding before start".into()))?;
        Ok(split(dec.step_async(ids).await?, ids.len()))
    }

    /// `sample::sample_batch` on the GPU, awaiting every readback: the same
    /// streams, the same choices.
    pub async fn sample_async(&mut self, prompt: &[u32], eos: u32, settings: &SampleSettings, seed: u64, streams: &[Stream]) -> Result<Vec<Sample>> {
        let mut s = Sampler::new(prompt.len(), self.model.max_len(), eos, settings, seed, streams)?;
        let mut rows = self.start_async(prompt, streams.len(), s.max_len()).await?;
        while let Some(next) = s.feed(&rows) {
            rows = self.next_async(&next).await?;
        }
        Ok(s.finish())
    }

    /// `score::token_logps` on the GPU (scoring passes of a decoder of
    /// [`SCORE_SLOTS`] sequences, rebuilt when a longer item comes).
    pub async fn token_logps_async(&mut self, items: &[Scored<'_>]) -> Result<Vec<Vec<f64>>> {
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

#[cfg(not(target_arch = "wasm32"))]
impl Score for GpuDecode<'_, '_> {
    fn token_logps(&mut self, items: &[Scored]) -> Result<Vec<Vec<f64>>> {
        pollster::block_on(self.token_logps_async(items))
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl Decode for GpuDecode<'_, '_> {
    fn max_positions(&self) -> usize {
        self.model.max_len()
    }

    fn start(&mut self, prompt: &[u32], n: usize, max_len: usize) -> Result<Vec<Vec<f32>>> {
        pollster::block_on(self.start_async(prompt, n, max_len))
    }

    fn next(&mut self, ids: &[u32]) -> Result<Vec<Vec<f32>>> {
        pollster::block_on(self.next_async(ids))
    }
}
