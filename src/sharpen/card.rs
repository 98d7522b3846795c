//! The base metrics a built-in model's training card documents, recomputed by
//! the tests: exact quantities over a fixed prompt set (200 prompts, seed 0).

use serde::{Deserialize, Serialize};

use super::bon::choose_problems;
use super::exact::enumerate;
use super::metrics::{coverage, mean};
use crate::error::Result;
use crate::model::Model;
use crate::tasks::{is_correct, Task};

pub const CARD_PROMPTS: usize = 200;
pub const CARD_THRESHOLD: f64 = 1e-5;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CardMetrics {
    pub prompts: usize,
    pub marked_prompts: usize,
    /// Mean probability that one sample is correct.
    pub sample_accuracy: f64,
    /// The same, marked prompts only (None: the task marks none).
    pub sample_accuracy_marked: Option<f64>,
    /// Share of prompts whose most likely answer `y*` is correct.
    pub y_star_accuracy: f64,
    /// The same, marked prompts only (low: the systematic error).
    pub y_star_accuracy_marked: Option<f64>,
    /// Mean `pi_base(y*|x)`.
    pub p_star: f64,
    /// Coverage coefficient (Eq. 6).
    pub c_cov: f64,
    pub max_leftover: f64,
}

pub fn card_metrics(model: &Model, task: &dyn Task) -> Result<CardMetrics> {
    let problems = choose_problems(task, CARD_PROMPTS, 0);
    let ids = problems.iter().map(|q| model.tok.encode_prompt(&q.prompt)).collect::<Result<Vec<_>>>()?;
    let dists = enumerate(&model.llama, &ids, model.tok.eos, task.max_answer_tokens(), CARD_THRESHOLD)?;
    let (mut acc, mut acc_m, mut ys, mut ys_m, mut ps) = (vec![], vec![], vec![], vec![], vec![]);
    for (q, d) in problems.iter().zip(&dists) {
        let ok = |t: &[u32]| is_correct(&model.tok, task, q, t);
        let a = d.mass_where(ok);
        let y = f64::from(u8::from(d.y_star().is_some_and(|a| ok(&a.tokens))));
        acc.push(a);
        ys.push(y);
        if q.marked {
            acc_m.push(a);
            ys_m.push(y);
        }
        ps.push(d.y_star().map_or(0.0, |a| a.logp.exp()));
    }
    Ok(CardMetrics {
        prompts: problems.len(),
        marked_prompts: acc_m.len(),
        sample_accuracy: mean(&acc),
        sample_accuracy_marked: (!acc_m.is_empty()).then(|| mean(&acc_m)),
        y_star_accuracy: mean(&ys),
        y_star_accuracy_marked: (!ys_m.is_empty()).then(|| mean(&ys_m)),
        p_star: mean(&ps),
        c_cov: coverage(&ps),
        max_leftover: dists.iter().map(|d| d.leftover).fold(0.0, f64::max),
    })
}
