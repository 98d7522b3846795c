//! Key/value cache for incremental decoding: per layer, the keys and values of
//! every position seen so far, `[batch, kv_heads, len, head_dim]`.

use candle_core::Tensor;

use crate::error::Result;

#[derive(Clone, Default)]
pub struct KvCache {
    layers: Vec<(Option<Tensor>, Option<Tensor>)>,
    len: usize,
}

impl KvCache {
    pub fn new(num_layers: usize) -> Self {
        Self { layers: vec![(None, None); num_layers], len: 0 }
    }

    /// Number of positions cached.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn layer_mut(&mut self, i: usize) -> &mut (Option<Tensor>, Option<Tensor>) {
        &mut self.layers[i]
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
        Ok(Self { layers, len: self.len })
    }
}
