//! Exact evaluation of a model being sharpened against the frozen base model,
//! shared by SFT- and RLHF-Sharpening (arXiv 2412.01951: Def. 3.1, Eq. 6,
//! Thm 4.1 and 4.2): `pi(y*)`
//! (the base model's argmax), the sharpened share (Def. 3.1), the probability
//! that a sample is correct, `E_pi[log pi_base(y|x)]`, the entropy,
//! `KL(pi || pi_base)` and, for RLHF, `KL(pi || pi*_beta)` to the closed-form
//! optimum.
//!
//! All are exact over the answers the enumeration of `pi` lists, and the
//! expectations (`E_pi[log pi_base]`, entropy, both KLs) are sums over that
//! same listed mass, `sum_{y listed} pi(y) f(y)`, not renormalised; the
//! unlisted mass (`1 - listed_mass`) is left out of every one of them alike.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::bon::choose_problems;
use super::closed_form::log_closed_form_z;
use super::exact::{enumerate, Distribution};
use super::metrics::{kl, mean, sharpened_fraction};
use crate::error::Result;
use crate::model::{Llama, Model};
use crate::score::{score, Scored};
use crate::tasks::{is_correct, Problem, Task};

/// Metrics of the current model at one step (means over the training prompts).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StepMetrics {
    pub step: usize,
    /// Training loss of this step's batch (None at step 0).
    pub loss: Option<f64>,
    /// `pi(y*_base | x)`.
    pub p_star: f64,
    /// Share of prompts with `pi(y*) >= 1 - delta` (Def. 3.1); with
    /// `gamma > 0`, with `pi(y*_gamma) >= 1 - delta` (Def. F.1).
    pub sharpened: f64,
    /// Probability that a sample is correct (oracle).
    pub accuracy: f64,
    /// The same on the marked prompts (None if there are none).
    pub accuracy_marked: Option<f64>,
    /// Mean of `pi(y*)` over prompts whose `y*` is wrong: an amplified error.
    pub p_star_wrong: Option<f64>,
    /// `E_{y~pi}[log pi_base(y|x)]` over the listed answers (`sum pi log pi_base`).
    pub mean_logp_base: f64,
    /// Entropy of the listed answers, nats (`-sum pi log pi`).
    pub entropy: f64,
    /// `KL(pi || pi_base)` over the listed answers, nats.
    pub kl: f64,
    /// Mean mass of the listed answers over which the expectations are taken.
    #[serde(default)]
    pub listed_mass: f64,
}

/// A prompt where the base model's most likely answer is wrong, so
/// sharpening amplifies an error.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WrongMode {
    pub prompt: String,
    pub answer: String,
    pub y_star: String,
    pub marked: bool,
    /// `pi_base(y*|x)` (exact).
    pub p_base: f64,
    /// `pi(y*|x)` after the last step (exact).
    pub p_final: f64,
}

/// Everything evaluation needs about the base model, computed once.
pub struct Baseline {
    pub problems: Vec<Problem>,
    pub prompt_ids: Vec<Vec<u32>>,
    pub dists: Vec<Distribution>,
    pub y_star_ok: Vec<bool>,
}

impl Baseline {
    /// `prompts` problems of `task` chosen with `seed` and their exact base distributions.
    pub fn new(base: &Model, task: &dyn Task, prompts: usize, seed: u64, threshold: f64) -> Result<Self> {
        Self::from_problems(base, task, choose_problems(task, prompts, seed), threshold)
    }

    /// The same for given problems.
    pub fn from_problems(base: &Model, task: &dyn Task, problems: Vec<Problem>, threshold: f64) -> Result<Self> {
        crate::tasks::require_enumerable(task, "SFT/RLHF-Sharpening with exact metrics")?;
        let prompt_ids = problems.iter().map(|q| base.tok.encode_prompt(&q.prompt)).collect::<Result<Vec<_>>>()?;
        let dists = enumerate(&base.llama, &prompt_ids, base.tok.eos, task.max_answer_tokens(), threshold)?;
        let y_star_ok = problems
            .iter()
            .zip(&dists)
            .map(|(q, d)| d.y_star().is_some_and(|a| is_correct(&base.tok, task, q, &a.tokens)))
            .collect();
        Ok(Self { problems, prompt_ids, dists, y_star_ok })
    }

    pub fn marked(&self) -> usize {
        self.problems.iter().filter(|q| q.marked).count()
    }

    pub fn wrong_mode_count(&self) -> usize {
        self.y_star_ok.iter().filter(|&&ok| !ok).count()
    }

    pub fn max_leftover(&self) -> f64 {
        self.dists.iter().map(|d| d.leftover).fold(0.0, f64::max)
    }

    /// Prompts whose `y*` the base enumeration does not certify (unlisted
    /// mass at least `pi_base(y*)`: an unlisted answer might be more likely).
    pub fn uncertified(&self) -> usize {
        self.dists.iter().filter(|d| !d.certifies_y_star()).count()
    }

    /// The prompts whose `y*` is wrong, with `pi(y*)` under the base model and
    /// `last_p[i]` after training.
    pub fn wrong_modes(&self, base: &Model, last_p: &[f64]) -> Vec<WrongMode> {
        (0..self.problems.len())
            .filter(|&i| !self.y_star_ok[i])
            .filter_map(|i| {
                let y = self.dists[i].y_star()?;
                let q = &self.problems[i];
                Some(WrongMode {
                    prompt: q.prompt.clone(),
                    answer: q.answer.clone(),
                    y_star: base.tok.decode(&y.tokens).unwrap_or_default(),
                    marked: q.marked,
                    p_base: y.logp.exp(),
                    p_final: last_p[i],
                })
            })
            .collect()
    }
}

/// One evaluation.
pub struct Eval {
    pub metrics: StepMetrics,
    /// Each prompt's `pi(y*)`.
    pub p_star: Vec<f64>,
    /// Mean `KL(pi || pi*_beta)` when a `beta` was given.
    pub kl_closed_form: Option<f64>,
}

/// The sharpening target: `(eps, delta)`-sharpened on `y*` (Def. 3.1), or on
/// `y*_gamma = {y : pi_base(y) >= (1 - gamma) pi_base(y*)}` (Def. F.1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Target {
    pub delta: f64,
    pub gamma: f64,
}

impl Target {
    /// What "sharpened" counts, in words, for tables and captions.
    pub fn meaning(self) -> String {
        if self.gamma > 0.0 {
            format!(
                "sharpened = share of prompts with pi(y*_gamma) >= 1 - delta, y*_gamma = {{y : pi_base(y) >= (1 - gamma) pi_base(y*)}}, delta = {}, gamma = {} (Def. F.1)",
                self.delta, self.gamma
            )
        } else {
            format!("sharpened = share of prompts with pi(y*) >= 1 - delta, delta = {} (Def. 3.1)", self.delta)
        }
    }
}

/// `pi(y*_gamma|x)` of the model `cur` for each prompt: the listed mass of
/// the base's `y*_gamma` answers, the ones `cur` does not list scored
/// directly (exact).
fn near_argmax_mass(cur: &Llama, bl: &Baseline, dists: &[Distribution], gamma: f64, eos: u32) -> Result<Vec<f64>> {
    let mut mass = vec![0.0; dists.len()];
    let mut unlisted: Vec<(usize, Vec<u32>)> = Vec::new();
    for (i, d) in dists.iter().enumerate() {
        for a in bl.dists[i].near_argmax(gamma) {
            match d.answers.iter().find(|b| b.tokens == a.tokens) {
                Some(b) => mass[i] += b.logp.exp(),
                None => unlisted.push((i, a.tokens.iter().copied().chain([eos]).collect())),
            }
        }
    }
    let items: Vec<Scored> = unlisted.iter().map(|(i, c)| Scored { prompt: &bl.prompt_ids[*i], continuation: c }).collect();
    if !items.is_empty() {
        for ((i, _), lp) in unlisted.iter().zip(score(cur, &items)?) {
            mass[*i] += lp.exp();
        }
    }
    Ok(mass)
}

/// The metrics of the model `cur` at `step`, exact over the enumerated answers
/// of the baseline's prompts; with `beta`, also `KL(pi || pi*_beta)`.
#[allow(clippy::too_many_arguments)]
pub fn evaluate(
    base: &Model,
    cur: &Llama,
    task: &dyn Task,
    bl: &Baseline,
    threshold: f64,
    target: Target,
    step: usize,
    loss: Option<f64>,
    beta: Option<f64>,
) -> Result<Eval> {
    let eos = base.tok.eos;
    let dists = enumerate(cur, &bl.prompt_ids, eos, task.max_answer_tokens(), threshold)?;
    // A model that has moved (almost) all its mass off complete answers has
    // diverged; its metrics would be meaningless, so say so.
    let listed = mean(&dists.iter().map(Distribution::listed_mass).collect::<Vec<_>>());
    if listed < 0.01 {
        return Err(crate::error::Error::NonFinite(format!(
            "at step {step}: the model puts only {:.1e} of its probability on complete answers (training diverged); lower the learning rate",
            listed.max(0.0)
        )));
    }
    // log pi_base for every listed answer: from the base enumeration when listed
    // there, else scored directly.
    let mut base_lp: Vec<HashMap<Vec<u32>, f64>> = bl
        .dists
        .iter()
        .map(|d| d.answers.iter().map(|a| (a.tokens.clone(), a.logp)).collect())
        .collect();
    let mut missing: Vec<(usize, Vec<u32>)> = Vec::new();
    for (i, d) in dists.iter().enumerate() {
        for a in &d.answers {
            if !base_lp[i].contains_key(&a.tokens) {
                let mut c = a.tokens.clone();
                c.push(eos);
                missing.push((i, c));
            }
        }
    }
    let items: Vec<Scored> = missing.iter().map(|(i, c)| Scored { prompt: &bl.prompt_ids[*i], continuation: c }).collect();
    if !items.is_empty() {
        for ((i, c), lp) in missing.iter().zip(score(&base.llama, &items)?) {
            base_lp[*i].insert(c[..c.len() - 1].to_vec(), lp);
        }
    }
    let (mut ps, mut acc, mut acc_m, mut wrong, mut mlp, mut ent, mut kls) = (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    let (mut kl_cf, mut masses) = (Vec::new(), Vec::new());
    for (i, d) in dists.iter().enumerate() {
        let q = &bl.problems[i];
        let y = &bl.dists[i].y_star().map(|a| a.tokens.clone()).unwrap_or_default();
        let pstar = d.prob(y);
        ps.push(pstar);
        if !bl.y_star_ok[i] {
            wrong.push(pstar);
        }
        let a = d.mass_where(|t| is_correct(&base.tok, task, q, t));
        acc.push(a);
        if q.marked {
            acc_m.push(a);
        }
        masses.push(d.listed_mass());
        mlp.push(d.answers.iter().map(|a| a.logp.exp() * base_lp[i][&a.tokens]).sum::<f64>());
        ent.push(d.entropy());
        kls.push(kl(d, |t| base_lp[i][t]));
        if let Some(b) = beta {
            let log_z = log_closed_form_z(&bl.dists[i], b);
            let e = 1.0 + 1.0 / b;
            kl_cf.push(kl(d, |t| e * base_lp[i][t] - log_z));
        }
    }
    let metrics = StepMetrics {
        step,
        loss,
        p_star: mean(&ps),
        sharpened: sharpened_fraction(&if target.gamma > 0.0 { near_argmax_mass(cur, bl, &dists, target.gamma, eos)? } else { ps.clone() }, target.delta),
        accuracy: mean(&acc),
        accuracy_marked: (!acc_m.is_empty()).then(|| mean(&acc_m)),
        p_star_wrong: (!wrong.is_empty()).then(|| mean(&wrong)),
        mean_logp_base: mean(&mlp),
        entropy: mean(&ent),
        kl: mean(&kls),
        listed_mass: mean(&masses),
    };
    Ok(Eval { metrics, p_star: ps, kl_closed_form: beta.map(|_| mean(&kl_cf)) })
}
