//! Prompt sets for real models: one JSON object per line with `prompt`,
//! `answer` (the oracle) and optionally `split` (`"train"` or `"eval"`).
//! Three are shipped, generated from templates with a seed by
//! `scripts/make_prompt_sets.py`, each with a fixed split (30% held out):
//! `www/prompts/arithmetic.jsonl` (sums of one- and two-digit numbers,
//! checked by the last number in the response), `capitals.jsonl` (capital
//! cities, checked by the answer appearing in the response) and
//! `counting.jsonl` (the number after n). Users bring their own (checked like
//! `capitals`, or like `arithmetic` when every answer is an integer); lines
//! without a split are split by `tasks::split`.
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
    /// Each line's own split (`Some(true)` = held out for evaluation).
    held: Vec<Option<bool>>,
    /// Share held out of the lines without one (`tasks::split::hashed`).
    eval_share: f64,
    check: Check,
    max_tokens: usize,
}

#[derive(Deserialize)]
struct Line {
    prompt: String,
    answer: serde_json::Value,
    #[serde(default)]
    split: Option<String>,
}

/// The shipped sets.
pub const SHIPPED: [&str; 3] = ["arithmetic", "capitals", "counting"];

/// Largest prompt set accepted.
pub const MAX_PROMPTS: usize = 10_000;

impl PromptSet {
    /// Reads JSONL text; every malformed line is an error naming its number.
    pub fn from_jsonl(name: &'static str, text: &str, max_tokens: usize) -> Result<Self> {
        let (mut problems, mut held) = (Vec::new(), Vec::new());
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
            held.push(match l.split.as_deref() {
                None => None,
                Some("train") => Some(false),
                Some("eval") => Some(true),
                Some(other) => return param_err(format!("prompt set line {}: split {other:?} is not \"train\" or \"eval\"", i + 1)),
            });
            problems.push(Problem { prompt: l.prompt.trim().to_string(), answer: answer.trim().to_string(), marked: false });
            if problems.len() > MAX_PROMPTS {
                return param_err(format!("prompt set has more than {MAX_PROMPTS} prompts"));
            }
        }
        if problems.is_empty() {
            return param_err("prompt set has no prompts");
        }
        let numeric = problems.iter().all(|q| q.answer.parse::<i64>().is_ok());
        let check = if numeric { Check::LastNumber } else { Check::Contains };
        Ok(Self { name, problems, held, eval_share: super::split::EVAL_SHARE, check, max_tokens })
    }

    /// Training prompts and evaluation prompts from two files: every line of
    /// `eval_text` is held out, every line of `train_text` is not; a prompt
    /// in both is an error.
    pub fn from_two(name: &'static str, train_text: &str, eval_text: &str, max_tokens: usize) -> Result<Self> {
        let mut train = Self::from_jsonl(name, train_text, max_tokens).map_err(|e| crate::Error::Param(format!("training prompts: {e}")))?;
        let eval = Self::from_jsonl(name, eval_text, max_tokens).map_err(|e| crate::Error::Param(format!("evaluation prompts: {e}")))?;
        let seen: std::collections::HashSet<&str> = train.problems.iter().map(|q| q.prompt.as_str()).collect();
        if let Some(q) = eval.problems.iter().find(|q| seen.contains(q.prompt.as_str())) {
            return param_err(format!("the prompt {:?} is in both the training and the evaluation prompts", q.prompt));
        }
        train.held = vec![Some(false); train.problems.len()];
        train.held.extend(std::iter::repeat_n(Some(true), eval.problems.len()));
        train.problems.extend(eval.problems);
        if train.problems.len() > MAX_PROMPTS {
            return param_err(format!("the two files hold more than {MAX_PROMPTS} prompts"));
        }
        let numeric = train.problems.iter().all(|q| q.answer.parse::<i64>().is_ok());
        train.check = if numeric { Check::LastNumber } else { Check::Contains };
        Ok(train)
    }

    /// Holds out `share` of the lines that carry no split of their own
    /// (`tasks::split::hashed`); lines with one keep it.
    pub fn set_eval_share(&mut self, share: f64) -> Result<()> {
        if !(share > 0.0 && share < 1.0) {
            return param_err(format!("the evaluation share {share} must be in (0, 1)"));
        }
        self.eval_share = share;
        Ok(())
    }

    /// The user's own set (task `custom`), as the CLI's `--prompts` /
    /// `--eval-prompts` / `--eval-fraction` and the page's two file pickers
    /// and held-out share give it: with a second file, its lines are the
    /// evaluation prompts ([`Self::from_two`]); without one, lines without a
    /// split of their own are held out at `eval_share` (None: the default).
    pub fn custom(train_text: &str, eval_text: Option<&str>, eval_share: Option<f64>) -> Result<Self> {
        if let Some(eval) = eval_text {
            return Self::from_two("custom", train_text, eval, 48);
        }
        let mut set = Self::from_jsonl("custom", train_text, 48)?;
        if let Some(share) = eval_share {
            set.set_eval_share(share)?;
        }
        Ok(set)
    }

    /// A shipped set: `arithmetic`, `capitals` or `counting`.
    pub fn builtin(name: &str) -> Result<Self> {
        match name {
            "arithmetic" => Self::from_jsonl("arithmetic", include_str!("../../www/prompts/arithmetic.jsonl"), 48),
            "capitals" => Self::from_jsonl("capitals", include_str!("../../www/prompts/capitals.jsonl"), 48),
            "counting" => Self::from_jsonl("counting", include_str!("../../www/prompts/counting.jsonl"), 48),
            _ => param_err(format!("unknown prompt set {name:?}; shipped sets: {}", SHIPPED.join(", "))),
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

/// Lower case, accents on Latin letters dropped (`Bogotá` = `Bogota`),
/// apostrophes removed (`N'Djamena` = `NDjamena`), other punctuation as
/// spaces, single spaces.
fn words(s: &str) -> String {
    let fold = |c: char| match c {
        'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' | 'ă' | 'ā' => 'a',
        'é' | 'è' | 'ê' | 'ë' | 'ē' => 'e',
        'í' | 'ì' | 'î' | 'ï' | 'ī' => 'i',
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' | 'ō' => 'o',
        'ú' | 'ù' | 'û' | 'ü' | 'ū' => 'u',
        'ñ' => 'n',
        'ç' => 'c',
        'ș' | 'ş' => 's',
        'ț' | 'ţ' => 't',
        c => c,
    };
    s.to_lowercase()
        .chars()
        .filter(|c| !matches!(c, '\'' | '’'))
        .map(|c| if c.is_alphanumeric() { fold(c) } else { ' ' })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
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
    fn held_out(&self, i: usize) -> bool {
        self.held[i].unwrap_or_else(|| super::split::hashed(&self.problems[i].prompt, self.eval_share))
    }
}
