//! Training and evaluation prompts kept apart. SFT-Sharpening amortises
//! best-of-N (arXiv 2412.01951, Section 5.2): the fine-tuned model's single
//! samples should do as well as the base model's best-of-N *on prompts it
//! was not trained on*, so every real-model run draws its training prompts
//! and its evaluation prompts from two disjoint sets.

use sha2::{Digest, Sha256};

use super::{Problem, Task};
use crate::error::{param_err, Result};

/// Share of a task's prompts held out when nothing says otherwise.
pub const EVAL_SHARE: f64 = 0.3;

/// Whether a prompt is held out at `share`: the first 8 bytes of the
/// SHA-256 of its text, as a fraction of 2^64, fall below `share`. Fixed by
/// the text alone (not the seed, not the line order), so a prompt never
/// moves between the sets from one run to the next.
pub fn hashed(prompt: &str, share: f64) -> bool {
    let d = Sha256::digest(prompt.trim().as_bytes());
    let x = u64::from_le_bytes(d[..8].try_into().expect("8 bytes"));
    (x as f64) < share * 2f64.powi(64)
}

/// The indices of the training and the evaluation problems of `task`.
pub fn indices(task: &dyn Task) -> (Vec<usize>, Vec<usize>) {
    (0..task.num_problems()).partition(|&i| !task.held_out(i))
}

/// Up to `train` training and `eval` evaluation problems, each drawn with
/// the seeded prompt stream (all of a set when it has fewer). An empty side
/// is an error that says how to fix it.
pub fn choose(task: &dyn Task, train: usize, eval: usize, seed: u64) -> Result<(Vec<Problem>, Vec<Problem>)> {
    let (tr, ev) = indices(task);
    if tr.is_empty() || ev.is_empty() {
        return param_err(format!(
            "the prompt set {} has {} training and {} evaluation prompts; both are needed (give two files, or a set with more prompts)",
            task.name(),
            tr.len(),
            ev.len()
        ));
    }
    let pick = |idx: &[usize], n: usize| choose_from(idx, n, seed).into_iter().map(|i| task.problem(i)).collect();
    Ok((pick(&tr, train), pick(&ev, eval)))
}

/// `n` of `idx`, drawn without replacement by a partial Fisher-Yates shuffle
/// on the seeded prompt stream (all of them, in order, when `n` covers them).
pub fn choose_from(idx: &[usize], n: usize, seed: u64) -> Vec<usize> {
    let total = idx.len();
    if n >= total {
        return idx.to_vec();
    }
    let mut rng = crate::rng::Rng::prompts(seed);
    let mut idx = idx.to_vec();
    for i in 0..n {
        let j = i + rng.below((total - i) as u64) as usize;
        idx.swap(i, j);
    }
    idx.truncate(n);
    idx
}
