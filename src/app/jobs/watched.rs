//! The prompt a training view follows: its exact answer distribution under
//! the model being trained, streamed with each evaluation (SFT and RLHF).

use crate::app::protocol::Watched;
use crate::app::session::Session;
use crate::error::{Error, Result};
use crate::model::Llama;
use crate::sharpen::bon::choose_problems;
use crate::sharpen::closed_form::closed_form;
use crate::sharpen::enumerate;
use crate::sharpen::explore::{answer_rows, rows_of, AnswerRow};
use crate::tasks::{is_correct, Problem};

/// Rows a watched distribution keeps (the most likely first).
const SHOWN: usize = 12;

/// The watched prompt's exact distribution under the model being trained,
/// with the closed form for RLHF.
pub fn snapshot(s: &Session, llama: &Llama, wq: &Problem, threshold: f64, closed_form: Vec<AnswerRow>) -> Result<Watched> {
    let (mut rows, _, _) = answer_rows(llama, &s.model.tok, s.task.as_ref(), wq, threshold)?;
    rows.truncate(SHOWN);
    Ok(Watched { prompt: wq.prompt.clone(), answer: wq.answer.clone(), rows, closed_form })
}

/// The watched prompt: the user's, or the first training prompt whose `y*`
/// is wrong. An error is a parameter error that names the watched prompt.
pub fn problem(s: &Session, prompts: usize, seed: u64, threshold: f64, watch: &str) -> Result<Problem> {
    find(s, prompts, seed, threshold, watch).map_err(|e| Error::Param(format!("watched prompt: {e}")))
}

fn find(s: &Session, prompts: usize, seed: u64, threshold: f64, watch: &str) -> Result<Problem> {
    if !watch.trim().is_empty() {
        return s.task.parse(watch);
    }
    let problems = choose_problems(s.task.as_ref(), prompts, seed);
    let ids = problems.iter().map(|q| s.model.tok.encode_prompt(&q.prompt)).collect::<Result<Vec<_>>>()?;
    let dists = enumerate(&s.model.llama, &ids, s.model.tok.eos, s.task.max_answer_tokens(), threshold)?;
    let wrong = problems.iter().zip(&dists).position(|(q, d)| !d.y_star().is_some_and(|a| is_correct(&s.model.tok, s.task.as_ref(), q, &a.tokens)));
    Ok(problems[wrong.unwrap_or(0)].clone())
}

/// The closed form `pi*_beta` of the watched prompt, as rows.
pub fn closed_form_rows(s: &Session, q: &Problem, beta: f64, threshold: f64) -> Result<Vec<AnswerRow>> {
    let ids = s.model.tok.encode_prompt(&q.prompt)?;
    let d = enumerate(&s.model.llama, &[ids], s.model.tok.eos, s.task.max_answer_tokens(), threshold)?.remove(0);
    let mut rows = rows_of(&closed_form(&d, beta), &s.model.tok, s.task.as_ref(), q)?;
    rows.truncate(SHOWN);
    Ok(rows)
}
