//! How prefill and scoring feed the GPU decoder: rows (one token of one
//! sequence each: cache slot, position, the prefix it shares) packed into
//! passes of at most [`PASS_ROWS`] rows. Pure bookkeeping, no GPU: tested
//! natively on its own.
//!
//! Scoring `log pi(y_t | x, y_<t)` (Eq. 2, summed over t by the caller) for
//! items (prompt x, continuation y): the prompt's first `|x| - 1` tokens are
//! fed once into the slot of the first item of a run of items with the same
//! prompt (the "prefix slot"); each item then feeds `x_last, y_1 ..
//! y_{|y|-1}` at positions `|x| - 1 ..` in its own slot, reading the shared
//! positions from the prefix slot, and the row at position `|x| - 1 + t`
//! scores target `y_{t+1}`. Within one pass the KV cache is written for all
//! rows before attention reads it, so a sequence's positions may share a
//! pass; a pass never holds two different sequences' rows in one slot.

use crate::error::{Error, Result};
use crate::score::Scored;

/// Rows one prefill or scoring pass feeds (64: the skinny matmul's limit).
pub const PASS_ROWS: usize = 64;

/// The widths a pass is dispatched at (the last is [`PASS_ROWS`]): a pass
/// of `r` rows runs at the narrowest width that holds them, so a short
/// prompt or the last pass of a long one costs what its rows cost (the
/// GPU's work grows with the width: every matmul streams its weights once
/// per 8 rows).
pub const PASS_WIDTHS: [usize; 4] = [8, 16, 32, PASS_ROWS];

/// One token of one sequence in a pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row {
    pub token: u32,
    pub slot: u32,
    pub pos: u32,
    /// Positions below this are read from `prefix_slot`.
    pub shared: u32,
    pub prefix_slot: u32,
    /// The next token, whose log-probability this row yields.
    pub target: u32,
    /// The item whose sequence this token belongs to (for a shared prompt
    /// prefix: the first item of the run).
    pub seq: usize,
    /// Where that log-probability goes: (item, index in its continuation).
    pub out: Option<(usize, usize)>,
}

impl Row {
    /// The `info` words the kernels read (kv_store.wgsl).
    pub fn info(&self) -> [u32; 4] {
        [self.slot, self.pos, self.shared, self.prefix_slot]
    }
}

/// Who writes a slot in a pass: the prefix of run `run` (`item` None) or
/// item `item`'s own positions. A run = consecutive items with one prompt.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Writer {
    run: usize,
    item: Option<usize>,
}

/// The slots written and read by the rows of the pass being filled.
struct Pass {
    rows: Vec<Row>,
    writers: Vec<Vec<Writer>>,
    /// Runs whose rows read a slot's shared prefix.
    readers: Vec<Vec<usize>>,
}

impl Pass {
    fn new(slots: usize) -> Self {
        Self { rows: vec![], writers: vec![vec![]; slots], readers: vec![vec![]; slots] }
    }

    /// Whether `w` writing `slot` could change what a row already in the
    /// pass reads or writes: another sequence's positions in that slot.
    /// A run's prefix (positions < shared) and its items' own positions
    /// (>= shared) never overlap.
    fn clashes(&self, slot: usize, w: Writer) -> bool {
        self.writers[slot].iter().any(|&o| o != w && !(o.run == w.run && (o.item.is_none() || w.item.is_none())))
            || self.readers[slot].iter().any(|&r| r != w.run)
    }

    fn push(&mut self, row: Row, w: Writer, done: &mut Vec<Vec<Row>>) {
        let slot = row.slot as usize;
        if self.rows.len() == PASS_ROWS || self.clashes(slot, w) {
            let slots = self.writers.len();
            done.push(std::mem::replace(self, Pass::new(slots)).rows);
        }
        if !self.writers[slot].contains(&w) {
            self.writers[slot].push(w);
        }
        let ps = row.prefix_slot as usize;
        if row.shared > 0 && !self.readers[ps].contains(&w.run) {
            self.readers[ps].push(w.run);
        }
        self.rows.push(row);
    }
}

/// The passes that score `items` with `slots` cache slots of `max_len`
/// positions each, in order.
pub fn scoring_passes(items: &[Scored], slots: usize, max_len: usize) -> Result<Vec<Vec<Row>>> {
    if slots == 0 {
        return Err(Error::Param("scoring needs at least one cache slot".into()));
    }
    let (mut done, mut pass) = (vec![], Pass::new(slots));
    let (mut next_slot, mut run, mut prefix_slot) = (0usize, 0usize, 0u32);
    for (i, it) in items.iter().enumerate() {
        let (p, c) = (it.prompt, it.continuation);
        if p.is_empty() || c.is_empty() {
            return Err(Error::Param("scoring needs a prompt and a continuation".into()));
        }
        let len = p.len() + c.len() - 1;
        if len > max_len {
            return Err(Error::Gpu(format!("a scored sequence of {len} positions; the GPU cache holds {max_len}")));
        }
        if i == 0 || items[i - 1].prompt != p {
            (run, prefix_slot) = (i, next_slot as u32);
            for (pos, &token) in p[..p.len() - 1].iter().enumerate() {
                let row = Row { token, slot: prefix_slot, pos: pos as u32, shared: 0, prefix_slot, target: 0, seq: run, out: None };
                pass.push(row, Writer { run, item: None }, &mut done);
            }
        }
        let slot = next_slot as u32;
        next_slot = (next_slot + 1) % slots;
        let shared = p.len() as u32 - 1;
        for k in 0..c.len() {
            let token = if k == 0 { p[p.len() - 1] } else { c[k - 1] };
            let row = Row { token, slot, pos: shared + k as u32, shared, prefix_slot, target: c[k], seq: i, out: Some((i, k)) };
            pass.push(row, Writer { run, item: Some(i) }, &mut done);
        }
    }
    if !pass.rows.is_empty() {
        done.push(pass.rows);
    }
    Ok(done)
}

/// The passes that prefill `prompt` into slot 0 (no scoring targets).
pub fn prefill_passes(prompt: &[u32], max_len: usize) -> Result<Vec<Vec<Row>>> {
    if prompt.is_empty() || prompt.len() > max_len {
        return Err(Error::Gpu(format!("a prompt of {} tokens; the GPU cache holds {max_len}", prompt.len())));
    }
    let rows: Vec<Row> =
        prompt.iter().enumerate().map(|(pos, &token)| Row { token, slot: 0, pos: pos as u32, shared: 0, prefix_slot: 0, target: 0, seq: 0, out: None }).collect();
    Ok(rows.chunks(PASS_ROWS).map(<[Row]>::to_vec).collect())
}
