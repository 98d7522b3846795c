//! Sampling on the GPU path: [`GpuDecode`] implements `sample::Decode` over
//! a [`GpuDecoder`], so `sample::sample_with` draws from the GPU's logits
//! with the same per-row random streams and choices as the CPU path. The
//! prompt is fed one position at a time for all rows (the decoder's step).

use super::decoder::{GpuDecoder, GpuModel};
use crate::error::Result;
use crate::sample::Decode;

pub struct GpuDecode<'m, 'g> {
    pub model: &'m GpuModel<'g>,
    /// The decoder of the current batch (rebuilt when the row count or the
    /// length grows; weights are shared).
    dec: Option<GpuDecoder<'g>>,
}

impl<'m, 'g> GpuDecode<'m, 'g> {
    pub fn new(model: &'m GpuModel<'g>) -> Self {
        Self { model, dec: None }
    }
}

fn split(logits: Vec<f32>, rows: usize) -> Vec<Vec<f32>> {
    let v = logits.len() / rows.max(1);
    logits.chunks(v.max(1)).map(<[f32]>::to_vec).collect()
}

impl Decode for GpuDecode<'_, '_> {
    fn max_positions(&self) -> usize {
        self.model.max_len()
    }

    fn start(&mut self, prompt: &[u32], n: usize, max_len: usize) -> Result<Vec<Vec<f32>>> {
        let reuse = self.dec.as_ref().is_some_and(|d| d.rows() == n && d.capacity() >= max_len);
        if !reuse {
            self.dec = None; // free the old cache first
            self.dec = Some(GpuDecoder::new(self.model, n, max_len)?);
        }
        let dec = self.dec.as_mut().expect("decoder built above");
        dec.reset();
        let mut last = vec![];
        for &t in prompt {
            last = dec.step(&vec![t; n])?;
        }
        Ok(split(last, n))
    }

    fn next(&mut self, ids: &[u32]) -> Result<Vec<Vec<f32>>> {
        let dec = self.dec.as_mut().ok_or_else(|| crate::error::Error::Other("decoding before start".into()))?;
        Ok(split(dec.step(ids)?, ids.len()))
    }
}
