//! Coverage vs margin (arXiv 2412.01951, Sec. 4.2: Assumption 4.2, Thm 4.2):
//! RLHF-Sharpening's optimum `pi*_beta ∝ pi_base^(1+1/beta)` puts mass
//! `pi*_beta(y*|x) = 1 / (1 + sum_{y != y*} (pi_base(y|x) / pi_base(y*|x))^(1+1/beta))`
//! on `y*`, so how small `beta` must be for `(eps, delta)`-sharpening depends
//! on the margin between the best answer and the rest, not on coverage.
//!
//! Per prompt (exact over the enumerated answers, the unlisted mass counted
//! against `y*`): the margin `gamma_margin = pi_base(y*) / pi_base(y_2) - 1`
//! of Assumption 4.2 (`y_2` the runner-up, or the unlisted mass when it is
//! larger), and `beta_needed`, the largest `beta` at which `pi*_beta(y*) >=
//! 1 - delta` (found by bisection on `log beta`; `pi*_beta(y*)` falls as
//! `beta` grows). Beside it, the sufficient value the margin alone gives:
//! with every other answer at most `pi_base(y*) / (1 + gamma)`,
//! `sum_{y != y*} r_y^e <= (1 + gamma)^-(e-1) (1 - p*) / p*` for `r_y =
//! pi_base(y) / p*`, so `beta <= log(1 + gamma) / log((1 - p*)(1 - delta) /
//! (p* delta))` suffices: `beta` proportional to the margin, as in Thm 4.2's
//! `beta <~ gamma_margin delta eps`. Then a sweep over `beta` of the closed
//! form's sharpened share, and RLHF-Sharpening (Eq. 8) trained at a few
//! `beta` beside it.

use serde::{Deserialize, Serialize};

use super::bon::{choose_problems, Progress};
use super::closed_form::closed_form;
use super::complexity::needed_count;
use super::exact::{enumerate, Distribution};
use super::metrics::{mean, sharpened_fraction};
use super::rlhf::{run_rlhf_observed, RlhfParams};
use crate::error::{check, param_err, Result};
use crate::model::Model;
use crate::tasks::{is_correct, Task};

/// `beta_needed` is searched in `[BETA_MIN, BETA_MAX]`.
pub const BETA_MIN: f64 = 1e-4;
pub const BETA_MAX: f64 = 1e4;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MarginParams {
    pub prompts: usize,
    pub delta: f64,
    pub eps: f64,
    /// The closed form's sweep.
    pub betas: Vec<f64>,
    /// RLHF-Sharpening runs (offline Eq. 8), one per `beta` (may be empty).
    pub train_betas: Vec<f64>,
    /// Steps of each run (0: no training, the closed form only).
    pub rlhf_steps: usize,
    pub threshold: f64,
    pub seed: u64,
}

impl Default for MarginParams {
    fn default() -> Self {
        Self {
            prompts: 64,
            delta: 0.1,
            eps: 0.1,
            betas: vec![0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0],
            train_betas: vec![0.1, 1.0],
            rlhf_steps: 150,
            threshold: 1e-4,
            seed: 0,
        }
    }
}

impl MarginParams {
    pub fn validate(&self) -> Result<()> {
        let betas = |v: &[f64], min: usize| v.len() < min || v.len() > 12 || v.iter().any(|b| !(b.is_finite() && (0.01..=100.0).contains(b)));
        let checks = [
            (self.prompts == 0 || self.prompts > 1000, "prompts must be in 1..=1000"),
            (!(self.delta > 0.0 && self.delta < 1.0), "delta must be strictly between 0 and 1"),
            (!(self.eps > 0.0 && self.eps < 1.0), "eps must be strictly between 0 and 1"),
            (betas(&self.betas, 1), "betas: 1 to 12 values, each in 0.01..=100"),
            (betas(&self.train_betas, 0), "training betas: at most 12 values, each in 0.01..=100"),
            (self.rlhf_steps > 2000, "RLHF steps must be at most 2000"),
            (!(self.threshold > 0.0 && self.threshold <= 1e-2), "threshold must be in (0, 0.01]"),
        ];
        check(&checks)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PromptMargin {
    pub prompt: String,
    pub y_star: String,
    pub y_star_correct: bool,
    pub p_star: f64,
    /// The runner-up's probability (or the unlisted mass, if larger).
    pub p_second: f64,
    /// `gamma_margin = p_star / p_second - 1` (Assumption 4.2).
    pub margin: f64,
    /// Largest `beta` with `pi*_beta(y*) >= 1 - delta` (`BETA_MAX` if every
    /// searched `beta` works, 0 if none does).
    pub beta_needed: f64,
    /// The `beta` the margin alone guarantees (a lower bound on `beta_needed`).
    pub beta_from_margin: f64,
    /// `sum_{y != y*} (pi_base(y) / p_star)^2`: at `beta = 1` the prompt is
    /// sharpened iff this is at most `delta / (1 - delta)`.
    pub ratio_sum_beta1: f64,
}

/// The closed form at one `beta` of the sweep (exact).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SweepRow {
    pub beta: f64,
    /// Share of prompts with `pi*_beta(y*) >= 1 - delta` (Def. 3.1).
    pub sharpened: f64,
    pub p_star: f64,
    /// Probability that a sample of `pi*_beta` is correct.
    pub accuracy: f64,
}

/// RLHF-Sharpening trained at one `beta`, after its last step.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainedRow {
    pub beta: f64,
    pub steps: usize,
    pub sharpened: f64,
    pub p_star: f64,
    pub accuracy: f64,
    pub kl_to_closed_form: f64,
    /// The closed form's share at the same `beta`.
    pub closed_form_sharpened: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MarginReport {
    pub prompts: usize,
    pub delta: f64,
    pub eps: f64,
    /// Exact over the enumerated answers (the unlisted mass counted against `y*`).
    pub exact: bool,
    pub c_cov: f64,
    pub per_prompt: Vec<PromptMargin>,
    pub sweep: Vec<SweepRow>,
    /// Largest `beta` at which the closed form is `(eps, delta)`-sharpened
    /// (0 if none in the searched range).
    pub beta_for_eps: f64,
    pub trained: Vec<TrainedRow>,
}

/// A `beta_needed` in words: "any" at the top of the searched range,
/// "none" below it.
pub fn beta_text(b: f64) -> String {
    if b >= BETA_MAX {
        "any".into()
    } else if b <= 0.0 {
        "none".into()
    } else {
        format!("{b:.4}")
    }
}

/// `pi*_beta(y*)`, certified from below: the unlisted answers' closed-form
/// mass is at most `leftover^(1+1/beta)` before normalising.
pub fn closed_form_p_star(d: &Distribution, beta: f64) -> f64 {
    let cf = closed_form(d, beta);
    cf.y_star().map_or(0.0, |a| a.logp.exp() / (1.0 + cf.leftover))
}

/// Largest `beta` in `[BETA_MIN, BETA_MAX]` with `pi*_beta(y*) >= 1 - delta`.
pub fn beta_needed(d: &Distribution, delta: f64) -> f64 {
    let ok = |b: f64| closed_form_p_star(d, b) >= 1.0 - delta;
    if ok(BETA_MAX) {
        return BETA_MAX;
    }
    if !ok(BETA_MIN) {
        return 0.0;
    }
    let (mut lo, mut hi) = (BETA_MIN.ln(), BETA_MAX.ln());
    for _ in 0..80 {
        let mid = 0.5 * (lo + hi);
        if ok(mid.exp()) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo.exp()
}

/// The `beta` the margin guarantees: `log(1 + gamma) / log((1 - p)(1 - delta) / (p delta))`.
pub fn beta_from_margin(p_star: f64, margin: f64, delta: f64) -> f64 {
    let denom = ((1.0 - p_star) * (1.0 - delta) / (p_star * delta)).ln();
    if denom <= 0.0 {
        BETA_MAX
    } else {
        ((1.0 + margin).ln() / denom).min(BETA_MAX)
    }
}

pub fn run_margin(base: &Model, task: &dyn Task, p: &MarginParams, progress: Progress) -> Result<MarginReport> {
    p.validate()?;
    crate::tasks::require_enumerable(task, "the coverage-vs-margin experiment")?;
    let problems = choose_problems(task, p.prompts, p.seed);
    let ids = problems.iter().map(|q| base.tok.encode_prompt(&q.prompt)).collect::<Result<Vec<_>>>()?;
    let dists = enumerate(&base.llama, &ids, base.tok.eos, task.max_answer_tokens(), p.threshold)?;
    let mut per_prompt = Vec::new();
    let mut correct: Vec<Vec<bool>> = Vec::new();
    for (q, d) in problems.iter().zip(&dists) {
        let Some(top) = d.y_star() else { return param_err(format!("no complete answer listed for {:?}; lower the threshold", q.prompt)) };
        let p_star = top.logp.exp();
        let p_second = d.answers.get(1).map_or(0.0, |a| a.logp.exp()).max(d.leftover);
        let margin = p_star / p_second - 1.0;
        correct.push(d.answers.iter().map(|a| is_correct(&base.tok, task, q, &a.tokens)).collect());
        per_prompt.push(PromptMargin {
            prompt: q.prompt.clone(),
            y_star: base.tok.decode(&top.tokens)?,
            y_star_correct: correct.last().unwrap()[0],
            p_star,
            p_second,
            margin,
            beta_needed: beta_needed(d, p.delta),
            beta_from_margin: beta_from_margin(p_star, margin, p.delta),
            ratio_sum_beta1: d.answers[1..].iter().map(|a| (a.logp - top.logp).exp().powi(2)).sum(),
        });
    }
    let sweep = p
        .betas
        .iter()
        .map(|&beta| {
            let ps: Vec<f64> = dists.iter().map(|d| closed_form_p_star(d, beta)).collect();
            let acc: Vec<f64> = dists
                .iter()
                .zip(&correct)
                .map(|(d, ok)| closed_form(d, beta).answers.iter().zip(ok).filter(|x| *x.1).map(|(a, _)| a.logp.exp()).sum())
                .collect();
            SweepRow { beta, sharpened: sharpened_fraction(&ps, p.delta), p_star: mean(&ps), accuracy: mean(&acc) }
        })
        .collect();
    let mut needed: Vec<f64> = per_prompt.iter().map(|x| x.beta_needed).collect();
    needed.sort_unstable_by(|a, b| b.total_cmp(a));
    let beta_for_eps = needed[needed_count(needed.len(), p.eps).max(1) - 1];
    let mut trained = Vec::new();
    let train = if p.rlhf_steps == 0 { &[][..] } else { &p.train_betas[..] };
    for (j, &beta) in train.iter().enumerate() {
        let rp = RlhfParams { prompts: p.prompts, beta, steps: p.rlhf_steps, eval_every: p.rlhf_steps.max(1), delta: p.delta, threshold: p.threshold, seed: p.seed, ..RlhfParams::default() };
        let mut last = None;
        let runs = train.len();
        run_rlhf_observed(base, task, &rp, &mut |d, t| progress(j * t + d, runs * t), &mut |s, _| {
            last = Some(s.clone());
            Ok(())
        })?;
        let s = last.expect("step 0 is always evaluated");
        let ps: Vec<f64> = dists.iter().map(|d| closed_form_p_star(d, beta)).collect();
        trained.push(TrainedRow {
            beta,
            steps: s.metrics.step,
            sharpened: s.metrics.sharpened,
            p_star: s.metrics.p_star,
            accuracy: s.metrics.accuracy,
            kl_to_closed_form: s.kl_to_closed_form,
            closed_form_sharpened: sharpened_fraction(&ps, p.delta),
        });
    }
    progress(1, 1);
    Ok(MarginReport {
        prompts: problems.len(),
        delta: p.delta,
        eps: p.eps,
        exact: dists.iter().all(Distribution::certifies_y_star),
        c_cov: mean(&per_prompt.iter().map(|x| 1.0 / x.p_star).collect::<Vec<_>>()),
        per_prompt,
        sweep,
        beta_for_eps,
        trained,
    })
}
