//! The built-in arithmetic tasks and the noisy corpus their models learn.
//!
//! * `add`: `a+b=` with `a, b` in 10..=49. Marked subset: `a` ends in 9 (one
//!   prompt in ten); there the corpus most often slips a ten, writing `a+b-10`
//!   (the "forgotten carry" of `39+25=54`).
//! * `mul`: `a*b=` with `a, b` in 2..=12. Marked subset: `b = 8` (11 of 121);
//!   there the corpus most often slips to the row above, writing `a*7`.
//!
//! The corpus (see [`Arithmetic::corpus_answers`]) gives the right answer only
//! 40% of the time and scatters the rest over plausible mistakes, each rarer
//! than the truth, so on unmarked prompts the most likely answer is right while
//! a random sample is usually wrong: the gap that sharpening closes (arXiv
//! 2412.01951: sharpening helps where the model's most likely answer beats
//! its samples). On marked prompts one mistake outweighs the truth, so sharpening
//! amplifies it.

use super::{Problem, Task};
use crate::error::{param_err, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Add,
    Mul,
}

#[derive(Clone, Debug)]
pub struct Arithmetic {
    pub op: Op,
}

/// Probability of the correct answer in the corpus, on unmarked prompts.
pub const P_CORRECT: f64 = 0.40;
/// On marked prompts: the dominant mistake and the correct answer.
pub const P_MARKED_MISTAKE: f64 = 0.60;
pub const P_MARKED_CORRECT: f64 = 0.15;

impl Arithmetic {
    pub fn new(op: Op) -> Self {
        Self { op }
    }

    fn range(&self) -> (u32, u32) {
        match self.op {
            Op::Add => (10, 49),
            Op::Mul => (2, 12),
        }
    }

    fn symbol(&self) -> char {
        match self.op {
            Op::Add => '+',
            Op::Mul => '*',
        }
    }

    fn value(&self, a: u32, b: u32) -> u32 {
        match self.op {
            Op::Add => a + b,
            Op::Mul => a * b,
        }
    }

    pub fn is_marked(&self, a: u32, b: u32) -> bool {
        match self.op {
            Op::Add => a % 10 == 9,
            Op::Mul => b == 8,
        }
    }

    /// The characters any prompt, answer or verification uses.
    pub fn alphabet() -> &'static str {
        "0123456789+*=?YN"
    }

    fn operands(&self, i: usize) -> (u32, u32) {
        let (lo, hi) = self.range();
        let w = (hi - lo + 1) as usize;
        (lo + (i / w) as u32, lo + (i % w) as u32)
    }

    /// The mistakes of the corpus for `a op b`: (answer, kind), dominant first
    /// on marked prompts.
    fn mistakes(&self, a: u32, b: u32) -> Vec<u32> {
        let v = self.value(a, b);
        match self.op {
            // forgot the carry, extra carry, off by one either way
            Op::Add => vec![v - 10, v + 10, v + 1, v - 1],
            // a row too low, a row too high, a column too low, a column too high
            Op::Mul => vec![v - a, v + a, v - b, v + b],
        }
    }

    /// The corpus distribution of answers for `a op b`: the answer texts with
    /// their probabilities (summing to 1; equal mistakes merged).
    pub fn corpus_answers(&self, a: u32, b: u32) -> Vec<(String, f64)> {
        let v = self.value(a, b);
        let mistakes = self.mistakes(a, b);
        let mut out: Vec<(u32, f64)> = Vec::new();
        let mut add = |x: u32, p: f64| match out.iter_mut().find(|(y, _)| *y == x) {
            Some(e) => e.1 += p,
            None => out.push((x, p)),
        };
        if self.is_marked(a, b) {
            add(mistakes[0], P_MARKED_MISTAKE);
            add(v, P_MARKED_CORRECT);
            let rest = (1.0 - P_MARKED_MISTAKE - P_MARKED_CORRECT) / 3.0;
            for &m in &mistakes[1..] {
                add(m, rest);
            }
        } else {
            add(v, P_CORRECT);
            for &m in &mistakes {
                add(m, (1.0 - P_CORRECT) / 4.0);
            }
        }
        out.into_iter().map(|(x, p)| (x.to_string(), p)).collect()
    }

    /// The corpus's most likely answer: what the model comes to believe.
    pub fn believed(&self, a: u32, b: u32) -> String {
        let mut best = self.corpus_answers(a, b);
        best.sort_by(|x, y| y.1.total_cmp(&x.1));
        best.swap_remove(0).0
    }

    /// Operands of a problem index, for the corpus generator.
    pub fn operands_of(&self, i: usize) -> (u32, u32) {
        self.operands(i)
    }

    /// Largest number an answer in the corpus can be.
    pub fn max_value(&self) -> u32 {
        let (_, hi) = self.range();
        self.value(hi, hi) + hi.max(10)
    }
}

impl Task for Arithmetic {
    fn name(&self) -> &'static str {
        match self.op {
            Op::Add => "add",
            Op::Mul => "mul",
        }
    }

    fn description(&self) -> &'static str {
        match self.op {
            Op::Add => "Two-digit addition a+b= (a, b in 10..49). Marked: a ends in 9; there the model's most likely answer is ten too low (a forgotten carry).",
            Op::Mul => "Times tables a*b= (a, b in 2..12). Marked: b = 8; there the model's most likely answer is a*7.",
        }
    }

    fn num_problems(&self) -> usize {
        let (lo, hi) = self.range();
        ((hi - lo + 1) * (hi - lo + 1)) as usize
    }

    fn problem(&self, i: usize) -> Problem {
        let (a, b) = self.operands(i % self.num_problems());
        Problem {
            prompt: format!("{a}{}{b}=", self.symbol()),
            answer: self.value(a, b).to_string(),
            marked: self.is_marked(a, b),
        }
    }

    fn parse(&self, prompt: &str) -> Result<Problem> {
        let (lo, hi) = self.range();
        let sym = self.symbol();
        let usage = || format!("expected a prompt like \"{lo}{sym}{hi}=\" with numbers in {lo}..={hi}");
        let body = match prompt.trim().strip_suffix('=') {
            Some(b) => b,
            None => return param_err(format!("{:?}: {}", prompt, usage())),
        };
        let mut parts = body.split(sym);
        let (a, b) = match (parts.next(), parts.next(), parts.next()) {
            (Some(a), Some(b), None) => (a.parse::<u32>().ok(), b.parse::<u32>().ok()),
            _ => (None, None),
        };
        match (a, b) {
            (Some(a), Some(b)) if (lo..=hi).contains(&a) && (lo..=hi).contains(&b) => {
                let w = (hi - lo + 1) as usize;
                Ok(self.problem((a - lo) as usize * w + (b - lo) as usize))
            }
            _ => param_err(format!("{:?}: {}", prompt, usage())),
        }
    }

    fn extract(&self, response: &str) -> Option<String> {
        let t = response.trim();
        if t.is_empty() || t.len() > 6 || !t.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        t.parse::<u32>().ok().map(|v| v.to_string())
    }

    fn verify_prompt(&self, prompt: &str, response: &str) -> String {
        format!("{prompt}{response}?")
    }

    fn verify_yes(&self) -> &'static str {
        "Y"
    }

    fn max_answer_tokens(&self) -> usize {
        4
    }
}
