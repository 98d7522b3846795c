//! Prompt sets for real models: one JSON object per line with `prompt` and
//! `answer` (the oracle). Two are shipped (`www/prompts/arithmetic.jsonl`:
//! one-digit sums, checked by the last number in the response;
//! `capitals.jsonl`: capital cities, checked by the answer appearing in the
//! response), and users can bring their own (checked like `capitals`, or like
//! `arithmetic` when every answer is an integer).
//!
//! Answers are free text up to `max_answer_tokens`, far too many to
//! enumerate: runs on prompt sets report Monte-Carlo estimates.

use serde::Deserialize;

use super::{Problem, Task};
use crate::error::{param_err, Result};

/// How a response is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// The last integer in the response equals the answer.
    LastNumber,
    /// The answer appears in the response (case-insensitive, whole words).
    Contains,
}

pub struct PromptSet {
    name: &'static str,
    problems: Vec<Problem>,
    check: Check,
    max_tokens: usize,
}

#[derive(Deserialize)]
struct Line {
    prompt: String,
    answer: serde_json::Value,
}

/// Largest prompt set accepted.
pub const MAX_PROMPTS: usize = 10_000;

impl PromptSet {
    /// Reads JSONL text; every malformed line is an error naming its number.
    pub fn from_jsonl(name: &'static str, text: &str, max_tokens: usize) -> Result<Self> {
        let mut problems = Vec::new();
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let l: Line = serde_json::from_str(line).map_err(|e| crate::Error::Param(format!("prompt set line {}: {e}", i + 1)))?;
            let answer = match l.answer {
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) => n.to_string(),
                other => return param_err(format!("prompt set line {}: answer {other} is not text or a number", i + 1)),
            };
            if l.prompt.trim().is_empty() || answer.trim().is_empty() {
                return param_err(format!("prompt set line {}: empty prompt or answer", i + 1));
            }
            problems.push(Problem { prompt: l.prompt, answer: answer.trim().to_string(), marked: false });
            if problems.len() > MAX_PROMPTS {
                return param_err(format!("prompt set has more than {MAX_PROMPTS} prompts"));
            }
        }
        if problems.is_empty() {
            return param_err("prompt set has no prompts");
        }
        let numeric = problems.iter().all(|q| q.answer.parse::<i64>().is_ok());
        Ok(Self { name, problems, check: if numeric { Check::LastNumber } else { Check::Contains }, max_tokens })
    }

    /// A shipped set: `arithmetic` or `capitals`.
    pub fn builtin(name: &str) -> Result<Self> {
        match name {
            "arithmetic" => Self::from_jsonl("arithmetic", include_str!("../../www/prompts/arithmetic.jsonl"), 48),
            "capitals" => Self::from_jsonl("capitals", include_str!("../../www/prompts/capitals.jsonl"), 48),
            _ => param_err(format!("unknown prompt set {name:?}; shipped sets: arithmetic, capitals")),
        }
    }

    pub fn check_kind(&self) -> Check {
        self.check
    }
}

/// The last integer in `s` (leading zeros dropped, a minus sign kept).
fn last_number(s: &str) -> Option<String> {
    let c: Vec<char> = s.chars().collect();
    let end = c.iter().rposition(|x| x.is_ascii_digit())? + 1;
    let mut start = end;
    while start > 0 && c[start - 1].is_ascii_digit() {
        start -= 1;
    }
    let digits: String = c[start..end].iter().collect();
    let n = digits.trim_start_matches('0');
    let n = if n.is_empty() { "0" } else { n };
    let neg = start > 0 && c[start - 1] == '-' && (start < 2 || !c[start - 2].is_ascii_alphanumeric());
    Some(if neg { format!("-{n}") } else { n.to_string() })
}

fn words(s: &str) -> String {
    s.to_lowercase().chars().map(|c| if c.is_alphanumeric() { c } else { ' ' }).collect::<String>().split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Task for PromptSet {
    fn name(&self) -> &'static str {
        self.name
    }
    fn description(&self) -> &'static str {
        match self.check {
            Check::LastNumber => "Questions with a numeric answer; a response is right when its last number is the answer.",
            Check::Contains => "Questions with a short answer; a response is right when it contains the answer.",
        }
    }
    fn num_problems(&self) -> usize {
        self.problems.len()
    }
    fn problem(&self, i: usize) -> Problem {
        self.problems[i].clone()
    }
    fn parse(&self, prompt: &str) -> Result<Problem> {
        match self.problems.iter().find(|q| q.prompt == prompt.trim()) {
            Some(q) => Ok(q.clone()),
            None => param_err(format!("{:?} is not in the prompt set {} (its answer is unknown)", prompt, self.name)),
        }
    }
    fn extract(&self, response: &str) -> Option<String> {
        match self.check {
            Check::LastNumber => last_number(response),
            Check::Contains => Some(words(response)).filter(|w| !w.is_empty()),
        }
    }
    fn check(&self, problem: &Problem, response: &str) -> bool {
        match self.check {
            Check::LastNumber => last_number(response).as_deref() == Some(problem.answer.as_str()),
            Check::Contains => format!(" {} ", words(response)).contains(&format!(" {} ", words(&problem.answer))),
        }
    }
    fn verify_prompt(&self, prompt: &str, response: &str) -> String {
        format!("Question: {prompt}\nProposed answer: {response}\nIs the proposed answer correct? Reply with Yes or No.")
    }
    fn verify_yes(&self) -> &'static str {
        "Yes"
    }
    fn max_answer_tokens(&self) -> usize {
        self.max_tokens
    }
    fn enumerable(&self) -> bool {
        false
    }
}
