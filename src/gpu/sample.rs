//! Sampling on the GPU path: [`GpuDecode`] implements `sample::Decode` over
//! a [`GpuDecoder`], so `sample::sample_with` draws from the GPU's logits
//! with the same per-row random streams and choices as the CPU path, and
//! `score::Score` through prefill passes. The prompt is prefilled once for
//! all rows.

use super::decoder::{GpuDecoder, GpuModel};
use crate::error::Result;
#[cfg(not(target_arch = "wasm32"))]
use crate::score::Score;
use crate::score::Scored;
#[cfg(not(target_arch = "wasm32"))]
use crate::sample::Decode;
use crate::sample::{Sample, SampleSettings, Sampler};

/// `sample::sample_batch` on the GPU, awaiting every step's readback (the
/// browser's worker cannot block): the same streams, the same choices.
pub async fn sample_async(model: &GpuModel<'_>, prompt: &[u32], eos: u32, n: usize, settings: &SampleSettings, seed: u64, prompt_index: u64) -> Result<Vec<Sample>> {
    let mut s = Sampler::new(prompt.len(), model.max_len(), eos, n, settings, seed, prompt_index)?;
    let mut dec = GpuDecoder::new(model, n, s.max_len())?;
    let mut rows = split(dec.prompt_async(prompt).await?, n);
    while let Some(next) = s.feed(&rows) {
        rows = split(dec.step_async(&next).await?, n);
    }
    Ok(s.finish())
}

#[cfg(not(target_arch = "wasm32"))]
pub struct GpuDecode<'m, 'g> {
    pub model: &'m GpuModel<'g>,
    /// One decoder per row count in use (best-of-N alternates N samples and
    /// one greedy answer), rebuilt only when a longer sequence is asked;
    /// weights are shared. `current` = the row count of the running batch.
    decoders: std::collections::HashMap<usize, GpuDecoder<'g>>,
    current: usize,
    /// Scores through a decoder of [`SCORE_SLOTS`] sequences (rebuilt when a
    /// longer item comes).
    scorer: Option<GpuDecoder<'g>>,
}

/// Sequences a scoring decoder holds at once (its KV cache: SmolLM2-135M,
/// 256 positions: 94 MB).
pub const SCORE_SLOTS: usize = 8;

/// A decoder that scores items of up to `max_len` positions: `current` when
/// it is long enough, else a new one (the old one freed first).
pub fn scoring_decoder<'g>(model: &GpuModel<'g>, current: &mut Option<GpuDecoder<'g>>, items: &[Scored]) -> Result<()> {
    let need = items.iter().map(|it| it.prompt.len() + it.continuation.len()).max().unwrap_or(1);
    if current.as_ref().is_none_or(|d| d.capacity() < need) {
        *current = None;
        *current = Some(GpuDecoder::new(model, SCORE_SLOTS, need.next_power_of_two().max(64).min(model.max_len()))?);
    }
    Ok(())
}

#[cfg(not(target_arch = "wasm32"))]
impl<'m, 'g> GpuDecode<'m, 'g> {
    pub fn new(model: &'m GpuModel<'g>) -> Self {
        Self { model, decoders: Default::default(), current: 0, scorer: None }
    }
}

fn split(logits: Vec<f32>, rows: usize) -> Vec<Vec<f32>> {
    let v = logits.len() / rows.max(1);
    logits.chunks(v.max(1)).map(<[f32]>::to_vec).collect()
}

#[cfg(not(target_arch = "wasm32"))]
impl Score for GpuDecode<'_, '_> {
    fn token_logps(&mut self, items: &[Scored]) -> Result<Vec<Vec<f64>>> {
        if items.is_empty() {
            return Ok(vec![]);
        }
        scoring_decoder(self.model, &mut self.scorer, items)?;
        self.scorer.as_mut().expect("built above").token_logps(items)
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl Decode for GpuDecode<'_, '_> {
    fn max_positions(&self) -> usize {
        self.model.max_len()
    }

    fn start(&mut self, prompt: &[u32], n: usize, max_len: usize) -> Result<Vec<Vec<f32>>> {
        if self.decoders.get(&n).is_none_or(|d| d.capacity() < max_len) {
            self.decoders.remove(&n); // free the old cache first
            self.decoders.insert(n, GpuDecoder::new(self.model, n, max_len)?);
        }
        self.current = n;
        let dec = self.decoders.get_mut(&n).expect("decoder built above");
        Ok(split(pollster::block_on(dec.prompt_async(prompt))?, n))
    }

    fn next(&mut self, ids: &[u32]) -> Result<Vec<Vec<f32>>> {
        let dec = self.decoders.get_mut(&self.current).ok_or_else(|| crate::error::Error::Other("decoding before start".into()))?;
        Ok(split(dec.step(ids)?, ids.len()))
    }
}
