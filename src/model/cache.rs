//! Key/value cache for incremental decoding: per layer, the keys and values of
//! every position seen so far. Two layouts, one per forward path (a cache
//! belongs to the path that filled it):
//! - candle's: tensors `[batch, kv_heads, len, head_dim]`;
//! - the 8-bit decoding path's (`llama::q8_forward`): flat vectors
//!   position-major, `[len, batch, kv_heads, head_dim]`, so a step appends at
//!   the end instead of copying the whole cache.

use candle_core::Tensor;

use crate::error::Result;

#[derive(Clone, Default)]
pub struct KvCache {
    layers: Vec<(Option<Tensor>, Option<Tensor>)>,
    /// The 8-bit path's layers, position-major.
    q8_layers: Vec<(Vec<f32>, Vec<f32>)>,
    /// Rows of the 8-bit layout (0 until the 8-bit path fills it).
    q8_batch: usize,
    len: usize,
}

impl KvCache {
    pub fn new(num_layers: usize) -> Self {
        Self { layers: vec![(None, None); num_layers], q8_layers: vec![(Vec::new(), Vec::new()); num_layers], q8_batch: 0, len: 0 }
    }

    /// Number of positions cached.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Layer `i` in candle's layout; an error when the 8-bit path filled the
    /// cache (a forward pass fills every layer, so layer `i` tells).
    pub(crate) fn layer_mut(&mut self, i: usize) -> Result<&mut (Option<Tensor>, Option<Tensor>)> {
        if !self.q8_layers[i].0.is_empty() {
            return crate::error::param_err("this KV cache was filled by the 8-bit decoding path");
        }
        Ok(&mut self.layers[i])
    }

    /// Layer `i` in the 8-bit path's layout for `batch` rows; an error when
    /// candle filled the cache or it holds another number of rows.
    pub(crate) fn q8_layer_mut(&mut self, i: usize, batch: usize) -> Result<&mut (Vec<f32>, Vec<f32>)> {
        if self.layers[i].0.is_some() {
            return crate::error::param_err("this KV cache was filled by the f32 forward path");
        }
        if self.len > 0 && self.q8_batch != batch {
            return crate::error::param_err(format!("a KV cache of {} rows continued with {batch}", self.q8_batch));
        }
        self.q8_batch = batch;
        Ok(&mut self.q8_layers[i])
    }

    pub(crate) fn advance(&mut self, t: usize) {
        self.len += t;
    }

    /// Fans a cache of batch 1 (a prefilled prompt) out to `n` identical rows,
    /// so `n` samples continue from one prefill.
    pub fn fan_out(&self, n: usize) -> Result<Self> {
        let rep = |t: &Option<Tensor>| -> Result<Option<Tensor>> {
            match t {
                None => Ok(None),
                Some(t) => {
                    let (b, h, s, d) = t.dims4()?;
                    if b != 1 {
                        return crate::error::param_err("fan_out needs a cache of batch 1");
                    }
                    Ok(Some(t.expand((n, h, s, d))?.contiguous()?))
                }
            }
        };
        let layers = self
            .layers
            .iter()
            .map(|(k, v)| Ok((rep(k)?, rep(v)?)))
            .collect::<Result<Vec<_>>>()?;
        if self.len > 0 && self.q8_batch > 1 {
            return crate::error::param_err("fan_out needs a cache of batch 1");
        }
        // Position-major: each position's block of one row, repeated n times.
        let repeat_rows = |x: &Vec<f32>| -> Vec<f32> {
            if x.is_empty() {
                return Vec::new();
            }
            x.chunks_exact(x.len() / self.len).flat_map(|pos| std::iter::repeat_n(pos, n).flatten().copied()).collect()
        };
        let q8_layers = self.q8_layers.iter().map(|(k, v)| (repeat_rows(k), repeat_rows(v))).collect();
        Ok(Self { layers, q8_layers, q8_batch: if self.q8_batch > 0 { n } else { 0 }, len: self.len })
    }
}
