//! The generation-verification gap ("Mind the Gap", arXiv 2412.02674): how
//! often the model's own samples are right, against how well its own
//! verification ranks right answers above wrong ones, and what reweighting its
//! generations by its verdict gains. All exact over each prompt's enumerated
//! answer distribution `pi(y|x)`:
//!
//! * sample accuracy `J(pi) = sum_{y right} pi(y|x)`;
//! * verifier AUC = `P[v(y) > v(y')]` (ties count 1/2) for `y ~ pi` restricted
//!   to right answers and `y' ~ pi` restricted to wrong ones, where
//!   `v(y) = log pi("Y" | "x y?")` is the self-verification reward;
//! * reweighted generations `pi_v(y|x) ∝ pi(y|x) P_verify(Y|x, y)` and the gap
//!   `J(pi_v) - J(pi)` (positive: the model verifies better than it generates).

use serde::{Deserialize, Serialize};

use super::bon::choose_problems;
use super::exact::enumerate;
use super::metrics::mean;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::score::{score, Scored};
use crate::tasks::{is_correct, Task};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GapReport {
    pub task: String,
    pub prompts: usize,
    /// Mean exact probability that a sample is right.
    pub sample_accuracy: f64,
    /// Mean verifier AUC over prompts with both right and wrong mass.
    pub verifier_auc: f64,
    /// Prompts the AUC averages over.
    pub auc_prompts: usize,
    /// Accuracy of the verifier-reweighted distribution.
    pub reweighted_accuracy: f64,
    /// `reweighted_accuracy - sample_accuracy`.
    pub gap: f64,
    /// Gap relative to the room for improvement, `gap / (1 - sample_accuracy)`.
    pub relative_gap: f64,
    pub max_leftover: f64,
}

pub fn generation_verification_gap(model: &Model, task: &dyn Task, prompts: usize, seed: u64, threshold: f64) -> Result<GapReport> {
    crate::tasks::require_enumerable(task, "the generation-verification gap")?;
    let problems = choose_problems(task, prompts, seed);
    let ids = problems.iter().map(|q| model.tok.encode_prompt(&q.prompt)).collect::<Result<Vec<_>>>()?;
    let dists = enumerate(&model.llama, &ids, model.tok.eos, task.max_answer_tokens(), threshold)?;
    let yes = model.tok.encode(task.verify_yes())?;
    if yes.len() != 1 {
        return Err(Error::Tokenizer(format!("the verification answer {:?} is not a single token", task.verify_yes())));
    }
    let (mut acc, mut aucs, mut reweighted) = (vec![], vec![], vec![]);
    for (q, d) in problems.iter().zip(&dists) {
        let texts = d.answers.iter().map(|a| model.tok.decode(&a.tokens)).collect::<Result<Vec<_>>>()?;
        let vprompts = texts.iter().map(|t| model.tok.encode_prompt(&task.verify_prompt(&q.prompt, t))).collect::<Result<Vec<_>>>()?;
        let items: Vec<Scored> = vprompts.iter().map(|p| Scored { prompt: p, continuation: &yes }).collect();
        let v = if items.is_empty() { vec![] } else { score(&model.llama, &items)? };
        let right: Vec<bool> = d.answers.iter().map(|a| is_correct(&model.tok, task, q, &a.tokens)).collect();
        let p: Vec<f64> = d.answers.iter().map(|a| a.logp.exp()).collect();
        let mass = p.iter().sum::<f64>();
        let p_right: f64 = p.iter().zip(&right).filter(|x| *x.1).map(|x| x.0).sum();
        acc.push(p_right);
        let w: Vec<f64> = p.iter().zip(&v).map(|(p, v)| p * v.exp()).collect();
        let wsum: f64 = w.iter().sum();
        if wsum > 0.0 {
            reweighted.push(w.iter().zip(&right).filter(|x| *x.1).map(|x| x.0).sum::<f64>() / wsum * mass);
        }
        let p_wrong = mass - p_right;
        if p_right > 0.0 && p_wrong > 0.0 {
            let mut num = 0.0;
            for i in (0..p.len()).filter(|&i| right[i]) {
                for j in (0..p.len()).filter(|&j| !right[j]) {
                    let s = if v[i] > v[j] { 1.0 } else if v[i] == v[j] { 0.5 } else { 0.0 };
                    num += p[i] * p[j] * s;
                }
            }
            aucs.push(num / (p_right * p_wrong));
        }
    }
    let sample_accuracy = mean(&acc);
    let reweighted_accuracy = mean(&reweighted);
    let gap = reweighted_accuracy - sample_accuracy;
    Ok(GapReport {
        task: task.name().into(),
        prompts: problems.len(),
        sample_accuracy,
        verifier_auc: mean(&aucs),
        auc_prompts: aucs.len(),
        reweighted_accuracy,
        gap,
        relative_gap: if sample_accuracy < 1.0 { gap / (1.0 - sample_accuracy) } else { 0.0 },
        max_leftover: dists.iter().map(|d| d.leftover).fold(0.0, f64::max),
    })
}
