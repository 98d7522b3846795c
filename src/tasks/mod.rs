//! Tasks: a space of prompts, each with a known correct answer (the oracle
//! checker), a way to extract the answer from a response (for majority vote) and
//! a self-verification prompt. The oracle is reported beside the self-rewards,
//! never used by them.

pub mod arithmetic;
pub mod echo;
pub mod lock;
pub mod prompt_set;
pub mod split;

use crate::error::{param_err, Result};

pub use arithmetic::{Arithmetic, Op};
pub use echo::Echo;
pub use lock::Lock;

/// One prompt of a task with its ground truth.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The prompt text given to the model, e.g. `"12+34="`.
    pub prompt: String,
    /// The correct answer, canonical form, e.g. `"46"`.
    pub answer: String,
    /// Whether this prompt belongs to the task's marked subset, where the
    /// training data makes a systematic error the most likely answer.
    pub marked: bool,
}

pub trait Task: Send + Sync {
    fn name(&self) -> &'static str;
    /// One sentence for people: what the task is and what is marked.
    fn description(&self) -> &'static str;
    /// Number of distinct prompts.
    fn num_problems(&self) -> usize;
    /// Prompt `i` (`i < num_problems()`).
    fn problem(&self, i: usize) -> Problem;
    /// The problem for a prompt typed by a user; an error names what is wrong.
    fn parse(&self, prompt: &str) -> Result<Problem>;
    /// The answer a response states, in canonical form, if any.
    fn extract(&self, response: &str) -> Option<String>;
    /// The prompt asking the model whether `response` answers `prompt` correctly.
    fn verify_prompt(&self, prompt: &str, response: &str) -> String;
    /// The token text meaning "yes" after a verification prompt.
    fn verify_yes(&self) -> &'static str;
    /// Longest answer the task needs, in tokens (`</s>` excluded).
    fn max_answer_tokens(&self) -> usize;

    /// Whether every answer can be enumerated (short answers): exact metrics.
    /// Prompt sets for real models answer in free text: estimates instead.
    fn enumerable(&self) -> bool {
        true
    }

    /// The oracle checker.
    fn check(&self, problem: &Problem, response: &str) -> bool {
        self.extract(response).as_deref() == Some(problem.answer.as_str())
    }

    /// Whether problem `i` is held out for evaluation (never trained on by
    /// the real-model SFT-Sharpening): by default `tasks::split::hashed` at
    /// `split::EVAL_SHARE`; a prompt set's lines may say.
    fn held_out(&self, i: usize) -> bool {
        split::hashed(&self.problem(i).prompt, split::EVAL_SHARE)
    }
}

/// An error for experiments whose metrics need the exact answer distribution
/// when the task's answers are free text (a prompt set for a real model).
pub fn require_enumerable(task: &dyn Task, what: &str) -> Result<()> {
    if task.enumerable() {
        Ok(())
    } else {
        param_err(format!(
            "{what} needs exact answer distributions, which free-text prompt sets ({}) do not have; best-of-N works on them",
            task.name()
        ))
    }
}

/// The oracle's verdict on answer tokens (decoded with `tok`).
pub fn is_correct(tok: &crate::model::Tok, task: &dyn Task, problem: &Problem, tokens: &[u32]) -> bool {
    tok.decode(tokens).map(|t| task.check(problem, &t)).unwrap_or(false)
}

/// The built-in tasks, main task first.
pub fn builtin_names() -> &'static [&'static str] {
    &["add", "mul", "lock", "echo"]
}

/// A built-in task (`add`, `mul`, `lock`, `echo`) or a shipped prompt set for real models
/// (`arithmetic`, `capitals`).
pub fn by_name(name: &str) -> Result<Box<dyn Task>> {
    match name {
        "add" => Ok(Box::new(Arithmetic::new(Op::Add))),
        "mul" => Ok(Box::new(Arithmetic::new(Op::Mul))),
        "lock" => Ok(Box::new(Lock)),
        "echo" => Ok(Box::new(Echo)),
        "arithmetic" | "capitals" | "counting" => Ok(Box::new(prompt_set::PromptSet::builtin(name)?)),
        _ => param_err(format!(
            "unknown task {name:?}; built-in tasks: {}; prompt sets for real models: {}",
            builtin_names().join(", "),
            prompt_set::SHIPPED.join(", ")
        )),
    }
}

/// A task asked of a real model: the same prompts and checker, but its
/// answers are treated as free text (a large vocabulary makes enumerating them
/// impossible), so experiments report estimates.
pub struct FreeText(pub Box<dyn Task>);

impl Task for FreeText {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn description(&self) -> &'static str {
        self.0.description()
    }
    fn num_problems(&self) -> usize {
        self.0.num_problems()
    }
    fn problem(&self, i: usize) -> Problem {
        self.0.problem(i)
    }
    fn parse(&self, prompt: &str) -> Result<Problem> {
        self.0.parse(prompt)
    }
    fn extract(&self, response: &str) -> Option<String> {
        self.0.extract(response)
    }
    fn verify_prompt(&self, prompt: &str, response: &str) -> String {
        self.0.verify_prompt(prompt, response)
    }
    fn verify_yes(&self) -> &'static str {
        self.0.verify_yes()
    }
    fn max_answer_tokens(&self) -> usize {
        self.0.max_answer_tokens()
    }
    fn enumerable(&self) -> bool {
        false
    }
    fn check(&self, problem: &Problem, response: &str) -> bool {
        self.0.check(problem, response)
    }
    fn held_out(&self, i: usize) -> bool {
        self.0.held_out(i)
    }
}
