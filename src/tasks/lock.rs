//! The low-coverage built-in task `lock`: a combination lock, built so that
//! `pi_base(y*)` is small (`C_cov` in the hundreds) while `y*` stays
//! reachable step by step (arXiv 2412.01951, Sec. 4.2 and Example J.1: the
//! structure under which online exploration can bypass coverage).
//!
//! * Prompt: a key of [`KEY_LEN`] digits in `0..=2` and `:`, e.g. `"012210:"`
//!   (`3^6 = 729` prompts). The correct answer is the key itself.
//! * The corpus writes the answer digit by digit. While everything written so
//!   far matches the key, the next digit is the key's with probability
//!   [`P_KEY`] = 0.4 and each other digit with 0.3; after the first slip the
//!   rest is uniform (1/3 each). So `pi(key) = 0.4^6 = 0.0041` (`C_cov` about
//!   244) and the key is still the single most likely answer: an answer that
//!   slips at digit `t` has probability at most `0.4^t 0.3 (1/3)^(5-t)`,
//!   below `0.4^6`.
//! * Marked prompts (keys beginning and ending with `2`, 81 of 729): at the
//!   last digit the corpus prefers `0` (0.4) to the key's `2` (0.3), so `y*` is
//!   the key with its last digit `0`: sharpening amplifies the error there.
//!
//! Why exploration matters here: a sample of `pi_base` matches the key for
//! `k` digits with probability about `0.4^k`, so base samples rarely show the
//! key's later digits in context; a model that has learnt to match the first
//! digits reaches further, and its own samples show the next ones. Unlike
//! Example J.1's linear class, a transformer may also generalise (the copy
//! rule is shared by positions and prompts); `sharpen coverage` measures which.

use super::{Problem, Task};
use crate::error::{param_err, Result};

/// Digits of a key and of an answer.
pub const KEY_LEN: usize = 6;
/// Digits an answer is written in.
pub const DIGITS: usize = 3;
/// Probability of the key's digit while the answer so far matches the key.
pub const P_KEY: f64 = 0.4;

#[derive(Clone, Copy, Debug, Default)]
pub struct Lock;

impl Lock {
    /// The characters any prompt, answer or verification uses.
    pub fn alphabet() -> &'static str {
        "012:?YN"
    }

    /// The key digits of prompt `i` (base 3, most significant first).
    pub fn key(i: usize) -> [u8; KEY_LEN] {
        let mut k = [0u8; KEY_LEN];
        let mut v = i % DIGITS.pow(KEY_LEN as u32);
        for d in k.iter_mut().rev() {
            *d = (v % DIGITS) as u8;
            v /= DIGITS;
        }
        k
    }

    pub fn is_marked(key: &[u8; KEY_LEN]) -> bool {
        key[0] == 2 && key[KEY_LEN - 1] == 2
    }

    /// The corpus's distribution of the next digit after `prefix` (digits
    /// `0..=2`), for `key`: `P_KEY` on the key's digit while `prefix` matches
    /// the key (on marked keys the last digit's `0.4` goes to `0` instead),
    /// uniform after a slip. None once the answer is complete (then `</s>`).
    pub fn next_digit(key: &[u8; KEY_LEN], prefix: &[u8]) -> Option<[f64; DIGITS]> {
        Self::next_digit_with(key, prefix, P_KEY)
    }

    /// [`Lock::next_digit`] with `p_key` in place of [`P_KEY`] (the
    /// trainer's first phase uses a sharper lock).
    pub fn next_digit_with(key: &[u8; KEY_LEN], prefix: &[u8], p_key: f64) -> Option<[f64; DIGITS]> {
        let t = prefix.len();
        if t >= KEY_LEN {
            return None;
        }
        if prefix != &key[..t] {
            return Some([1.0 / 3.0; DIGITS]);
        }
        let favoured = if t == KEY_LEN - 1 && Self::is_marked(key) { 0 } else { key[t] as usize };
        let mut p = [(1.0 - p_key) / 2.0; DIGITS];
        p[favoured] = p_key;
        Some(p)
    }

    /// The corpus probability of a complete answer (6 digits).
    pub fn corpus_prob(key: &[u8; KEY_LEN], answer: &[u8]) -> f64 {
        if answer.len() != KEY_LEN {
            return 0.0;
        }
        (0..KEY_LEN).map(|t| Self::next_digit(key, &answer[..t]).expect("t < KEY_LEN")[answer[t] as usize]).product()
    }

    /// The corpus's most likely answer: the key (on marked keys, its last digit `0`).
    pub fn believed(key: &[u8; KEY_LEN]) -> [u8; KEY_LEN] {
        let mut b = *key;
        if Self::is_marked(key) {
            b[KEY_LEN - 1] = 0;
        }
        b
    }

    pub fn text(digits: &[u8]) -> String {
        digits.iter().map(|d| char::from(b'0' + d)).collect()
    }

    fn digits_of(s: &str) -> Option<[u8; KEY_LEN]> {
        let b = s.as_bytes();
        if b.len() != KEY_LEN || !b.iter().all(|c| (b'0'..b'0' + DIGITS as u8).contains(c)) {
            return None;
        }
        let mut k = [0u8; KEY_LEN];
        for (d, c) in k.iter_mut().zip(b) {
            *d = c - b'0';
        }
        Some(k)
    }
}

impl Task for Lock {
    fn name(&self) -> &'static str {
        "lock"
    }

    fn description(&self) -> &'static str {
        "Combination lock: the prompt is a 6-digit key (digits 0-2), the answer is the key. The model writes the key's next digit with probability 0.4 only while its answer so far matches; after a slip it writes random digits, so pi(y*) = 0.4^6 (C_cov about 244) yet y* is reachable digit by digit. Marked: keys 2....2; there the most likely last digit is 0."
    }

    fn num_problems(&self) -> usize {
        DIGITS.pow(KEY_LEN as u32)
    }

    fn problem(&self, i: usize) -> Problem {
        let key = Self::key(i);
        let text = Self::text(&key);
        Problem { prompt: format!("{text}:"), answer: text, marked: Self::is_marked(&key) }
    }

    fn parse(&self, prompt: &str) -> Result<Problem> {
        let usage = || format!("{prompt:?}: expected a key of {KEY_LEN} digits 0-2 and ':', like \"012210:\"");
        let Some(body) = prompt.trim().strip_suffix(':') else { return param_err(usage()) };
        let Some(key) = Self::digits_of(body) else { return param_err(usage()) };
        Ok(self.problem(key.iter().fold(0usize, |v, &d| v * DIGITS + d as usize)))
    }

    fn extract(&self, response: &str) -> Option<String> {
        Self::digits_of(response.trim()).map(|k| Self::text(&k))
    }

    fn verify_prompt(&self, prompt: &str, response: &str) -> String {
        format!("{prompt}{response}?")
    }

    fn verify_yes(&self) -> &'static str {
        "Y"
    }

    fn max_answer_tokens(&self) -> usize {
        KEY_LEN
    }
}
