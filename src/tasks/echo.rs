//! The built-in task `echo`, where answer length matters: the prompt is two
//! digits and `:`, the correct answer those two digits written three times
//! (`"47:"` -> `"474747"`). The corpus often stops early, and its single most
//! likely answer is the first digit alone:
//!
//! | answer | `4` | `47` | `4747` | `47474` | `474747` (right) |
//! | --- | --- | --- | --- | --- | --- |
//! | corpus probability | 0.30 | 0.15 | 0.15 | 0.15 | 0.25 |
//!
//! So the total log-likelihood (Eq. 2) prefers the one-digit answer
//! (`log 0.30 > log 0.25`), while the length-normalised one (per token,
//! `</s>` included) prefers the full answer (`log 0.25 / 7 = -0.198` against
//! `log 0.30 / 2 = -0.602`): the two self-rewards pick different answers,
//! and best-of-N by log-likelihood converges on the short wrong one (arXiv
//! 2412.01951 notes that log-likelihood favours short answers). Marked
//! prompts: none.

use super::{Problem, Task};
use crate::error::{param_err, Result};

/// The corpus's answers as the number of digits written (of 6), with their
/// probabilities.
pub const LENGTHS: [(usize, f64); 5] = [(1, 0.30), (2, 0.15), (4, 0.15), (5, 0.15), (6, 0.25)];

#[derive(Clone, Copy, Debug, Default)]
pub struct Echo;

impl Echo {
    pub fn alphabet() -> &'static str {
        "0123456789:?YN"
    }

    /// The two digits of prompt `i`.
    pub fn digits(i: usize) -> [u8; 2] {
        [(i / 10 % 10) as u8, (i % 10) as u8]
    }

    /// The first `len` characters of the two digits written three times.
    pub fn written(d: [u8; 2], len: usize) -> String {
        (0..len).map(|k| char::from(b'0' + d[k % 2])).collect()
    }

    /// The corpus distribution of answers to prompt `i`: (text, probability).
    pub fn corpus_answers(i: usize) -> Vec<(String, f64)> {
        LENGTHS.iter().map(|&(len, p)| (Self::written(Self::digits(i), len), p)).collect()
    }
}

impl Task for Echo {
    fn name(&self) -> &'static str {
        "echo"
    }

    fn description(&self) -> &'static str {
        "Echo: the prompt is two digits, the answer those digits three times (47: -> 474747). The corpus often stops early; its most likely answer is the first digit alone (0.30 against 0.25 for the full answer), so total log-likelihood prefers the short wrong answer and length-normalised log-likelihood the right one."
    }

    fn num_problems(&self) -> usize {
        100
    }

    fn problem(&self, i: usize) -> Problem {
        let d = Self::digits(i);
        Problem { prompt: format!("{}:", Self::written(d, 2)), answer: Self::written(d, 6), marked: false }
    }

    fn parse(&self, prompt: &str) -> Result<Problem> {
        let t = prompt.trim();
        match t.strip_suffix(':').map(str::as_bytes) {
            Some([a, b]) if a.is_ascii_digit() && b.is_ascii_digit() => Ok(self.problem(((a - b'0') * 10 + (b - b'0')) as usize)),
            _ => param_err(format!("{prompt:?}: expected two digits and ':', like \"47:\"")),
        }
    }

    fn extract(&self, response: &str) -> Option<String> {
        let t = response.trim();
        (!t.is_empty() && t.len() <= 8 && t.bytes().all(|c| c.is_ascii_digit())).then(|| t.to_string())
    }

    fn verify_prompt(&self, prompt: &str, response: &str) -> String {
        format!("{prompt}{response}?")
    }

    fn verify_yes(&self) -> &'static str {
        "Y"
    }

    fn max_answer_tokens(&self) -> usize {
        7
    }
}
