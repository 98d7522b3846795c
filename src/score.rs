//! Batched scoring: `log pi(y|x) = sum_t log pi(y_t | x, y_<t)` (Eq. 2 for
//! `pi = pi_base`) for many (prompt, continuation) pairs in one forward pass.
//!
//! Sequences of different lengths are right-padded: with causal attention a pad
//! token after position `t` cannot change the logits at `t`, so no attention mask
//! is needed beyond the causal one.

use candle_core::Tensor;

use crate::error::{Error, Result};
use crate::model::log_prob_of;
use crate::model::Llama;

/// Rows of at most this many sequences go through the model at once.
pub const SCORE_CHUNK: usize = 256;

/// One sequence to score: the context and the tokens whose log-probability is
/// summed (the continuation must be non-empty).
#[derive(Clone, Debug)]
pub struct Scored<'a> {
    pub prompt: &'a [u32],
    pub continuation: &'a [u32],
}

/// Per-position log-probabilities of each continuation token.
pub fn token_logps(model: &Llama, items: &[Scored]) -> Result<Vec<Vec<f64>>> {
    let mut out = Vec::with_capacity(items.len());
    for chunk in items.chunks(SCORE_CHUNK) {
        out.extend(token_logps_chunk(model, chunk)?);
    }
    Ok(out)
}

/// Total log-probability of each continuation.
pub fn score(model: &Llama, items: &[Scored]) -> Result<Vec<f64>> {
    Ok(token_logps(model, items)?.into_iter().map(|v| v.iter().sum()).collect())
}

/// Logits rows at the last position of each sequence (next-token distribution
/// after the whole sequence), for batched tree expansion.
pub fn next_token_logits(model: &Llama, seqs: &[Vec<u32>]) -> Result<Vec<Vec<f32>>> {
    let mut out = Vec::with_capacity(seqs.len());
    for chunk in seqs.chunks(SCORE_CHUNK) {
        let (ids, lens) = pad(chunk.iter().map(|s| s.as_slice()))?;
        let logits = model.forward(&Tensor::new(ids, model.device())?.reshape((chunk.len(), ()))?, None)?;
        let v = logits.to_vec3::<f32>()?;
        for (row, len) in v.into_iter().zip(lens) {
            out.push(row[len - 1].clone());
        }
    }
    Ok(out)
}

fn token_logps_chunk(model: &Llama, items: &[Scored]) -> Result<Vec<Vec<f64>>> {
    let seqs: Vec<Vec<u32>> = items
        .iter()
        .map(|it| {
            if it.prompt.is_empty() || it.continuation.is_empty() {
                return Err(Error::Param("scoring needs a prompt and a continuation".into()));
            }
            Ok([it.prompt, it.continuation].concat())
        })
        .collect::<Result<_>>()?;
    let (ids, _) = pad(seqs.iter().map(|s| s.as_slice()))?;
    let logits = model.forward(&Tensor::new(ids, model.device())?.reshape((items.len(), ()))?, None)?;
    let v = logits.to_vec3::<f32>()?;
    Ok(items
        .iter()
        .zip(v)
        .map(|(it, rows)| {
            let p = it.prompt.len();
            it.continuation
                .iter()
                .enumerate()
                .map(|(t, &tok)| log_prob_of(&rows[p + t - 1], tok))
                .collect()
        })
        .collect())
}

/// Right-pads sequences with their own last token into one flat `[b * t]` buffer.
fn pad<'a>(seqs: impl Iterator<Item = &'a [u32]> + Clone) -> Result<(Vec<u32>, Vec<usize>)> {
    let t = seqs.clone().map(|s| s.len()).max().unwrap_or(0);
    if t == 0 {
        return Err(Error::Param("nothing to score".into()));
    }
    let mut ids = Vec::new();
    let mut lens = Vec::new();
    for s in seqs {
        if s.is_empty() {
            return Err(Error::Param("empty sequence".into()));
        }
        ids.extend_from_slice(s);
        ids.extend(std::iter::repeat_n(*s.last().unwrap(), t - s.len()));
        lens.push(s.len());
    }
    Ok((ids, lens))
}
