//! RLHF-Sharpening (arXiv 2412.01951, Sec. 4.2: Eq. 8 and Alg. 1). The target
//! is `argmax_pi E_pi[log pi_base(y|x)] - beta KL(pi || pi_base)`, whose
//! optimum is `pi*_beta ∝ pi_base^(1+1/beta)` (`closed_form.rs`).
//!
//! * **Offline** (reward-regression DPO, Eq. 8): pairs `y, y' ~ pi_base(.|x)`,
//!   minimise `(beta log(pi(y)/pi_base(y)) - beta log(pi(y')/pi_base(y')) -
//!   (log pi_base(y) - log pi_base(y')))^2`.
//! * **Online** (after Alg. 1, XPO): `y ~ pi` (the current model), `y' ~
//!   pi_base`, the same squared loss plus the optimism term `alpha log pi(y')`
//!   (minimised: it pushes mass off the base model's samples, so the model
//!   explores). This is a *one-step stochastic approximation* of Alg. 1, not
//!   the algorithm as stated: Alg. 1 keeps every triple `(x, y, y')` drawn so
//!   far in a dataset `D` and refits `pi` on all of `D` each round (and returns
//!   the best round); here each step draws fresh pairs, takes one AdamW step
//!   on them and forgets them. The scale of `alpha` is the paper's: Alg. 1
//!   weighs `alpha sum_D log pi(y'|x)` against `sum_D (...)^2`, and dividing
//!   both sums by the number of pairs gives our `alpha mean log pi(y') +
//!   mean (...)^2`. With `alpha = 0` the online variant has no exploration
//!   bonus at all (the CLI and the page warn).
//!
//! Each step draws fresh pairs for `pairs` prompts of the prompt set, every
//! answer from its own random stream `Stream::Pair { step, prompt, slot }`;
//! AdamW's learning rate decays from `lr` to 0 on a cosine schedule (the
//! regression target is noisy, and a decaying rate lets it settle on the
//! optimum); every `eval_every` steps the exact metrics of SFT-Sharpening are
//! computed, plus `KL(pi || pi*_beta)` against the closed form.

use candle_core::Tensor;
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use serde::{Deserialize, Serialize};

use super::bon::Progress;
use super::eval::{evaluate, Baseline, StepMetrics, Target, WrongMode};
use super::metrics::coverage;
use super::train_step::{check_training, cosine_lr, seq_logprobs, step, Example};
use crate::error::{check, Error, Result};
use crate::model::{Llama, Model};
use crate::rng::{PairSide, Rng, Shuffled, Stream};
use crate::sample::{sample_batch, SampleSettings};
use crate::score::{score, Scored};
use crate::tasks::Task;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RlhfParams {
    /// Number of prompts in the prompt set.
    pub prompts: usize,
    /// KL weight `beta`; the optimum is `pi_base^(1+1/beta)`.
    pub beta: f64,
    pub steps: usize,
    pub lr: f64,
    /// Pairs `(y, y')` per step (one prompt each).
    pub pairs: usize,
    /// Online exploration variant (Alg. 1) instead of offline pairs.
    pub online: bool,
    /// Optimism weight `alpha` of the online variant.
    pub alpha: f64,
    pub clip: f64,
    pub delta: f64,
    /// `gamma` of Def. F.1: the sharpened share counts the mass on
    /// `y*_gamma` (0 = on `y*`).
    #[serde(default)]
    pub gamma: f64,
    pub eval_every: usize,
    pub sampling: SampleSettings,
    pub threshold: f64,
    pub seed: u64,
}

impl Default for RlhfParams {
    fn default() -> Self {
        Self {
            prompts: 64,
            beta: 1.0,
            steps: 200,
            lr: 1e-3,
            pairs: 32,
            online: false,
            alpha: 0.0,
            clip: 1.0,
            delta: 0.1,
            gamma: 0.0,
            eval_every: 10,
            sampling: SampleSettings::default(),
            threshold: 1e-4,
            seed: 0,
        }
    }
}

impl RlhfParams {
    pub fn validate(&self) -> Result<()> {
        self.sampling.validate()?;
        let checks = [
            (self.prompts == 0 || self.prompts > 10_000, "prompts must be in 1..=10000"),
            (!(self.beta.is_finite() && self.beta >= 0.01 && self.beta <= 100.0), "beta must be in 0.01..=100"),
            (self.steps > 100_000, "steps must be at most 100000"),
            (self.pairs == 0 || self.pairs > 1024, "pairs must be in 1..=1024"),
            (!(self.alpha.is_finite() && (0.0..=10.0).contains(&self.alpha)), "alpha must be in 0..=10"),
        ];
        check(&checks)?;
        check_training(self.lr, self.clip, self.delta, self.gamma, self.eval_every)
    }
}

/// One evaluation: the SFT metrics plus the distance to the closed form.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RlhfStep {
    #[serde(flatten)]
    pub metrics: StepMetrics,
    /// Mean over prompts of `KL(pi || pi*_beta)`, nats (exact over listed answers).
    pub kl_to_closed_form: f64,
    /// Samples drawn from `pi_base` so far (both answers of an offline pair,
    /// `y'` of an online one; a pair cut off at the length limit counts too).
    pub samples_drawn: usize,
    /// Samples drawn from the model being trained so far (`y` of an online
    /// pair; 0 offline).
    #[serde(default)]
    pub samples_policy: usize,
}

/// One pair as drawn: its step, prompt (index in the prompt set), the two
/// random streams (ids of `Stream::Pair` for `y` and `y'`) and the answers.
#[derive(Clone, Debug, PartialEq)]
pub struct PairDraw {
    pub step: usize,
    pub prompt: usize,
    pub streams: [u64; 2],
    pub y: Vec<u32>,
    pub y_prime: Vec<u32>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RlhfReport {
    pub steps: Vec<RlhfStep>,
    pub prompts: usize,
    pub marked_prompts: usize,
    pub wrong_mode_prompts: usize,
    /// `C_cov` of the prompt set (Eq. 6, exact).
    pub c_cov: f64,
    /// Pairs skipped because an answer hit the length limit.
    pub skipped_pairs: usize,
    pub max_leftover: f64,
    /// Prompts whose `y*` the base enumeration does not certify (its unlisted
    /// mass is at least `pi_base(y*)`).
    #[serde(default)]
    pub uncertified_prompts: usize,
    pub wrong_mode: Vec<WrongMode>,
    /// The variant run: online (the one-step approximation of Alg. 1) with
    /// optimism weight `alpha`, or offline Eq. 8 (`alpha` 0).
    #[serde(default)]
    pub online: bool,
    #[serde(default)]
    pub alpha: f64,
    /// Every pair drawn, in order (not in the JSON report).
    #[serde(skip)]
    pub draws: Vec<PairDraw>,
}

/// The Eq. 8 loss of a batch of pairs, with the online optimism term:
/// `mean_i (beta (lp_y - lp_y') - (1 + beta)(lb_y - lb_y'))^2 + alpha mean_i lp_y'`,
/// where `lp = log pi` (differentiable, shape `(n,)`) and `lb = log pi_base`.
/// (Expanding Eq. 8: `beta(lp_y - lb_y) - beta(lp_y' - lb_y') - (lb_y - lb_y')`.)
pub fn eq8_loss(lp_y: &Tensor, lp_y2: &Tensor, lb_y: &[f64], lb_y2: &[f64], beta: f64, alpha: f64) -> Result<Tensor> {
    let n = lb_y.len();
    let target: Vec<f32> = lb_y.iter().zip(lb_y2).map(|(a, b)| ((1.0 + beta) * (a - b)) as f32).collect();
    let target = Tensor::from_vec(target, n, lp_y.device())?;
    let d = ((lp_y - lp_y2)? * beta)?.sub(&target)?;
    let mut loss = d.sqr()?.mean_all()?;
    if alpha > 0.0 {
        loss = (loss + (lp_y2.mean_all()? * alpha)?)?;
    }
    Ok(loss)
}

/// Called after each evaluation with its metrics and the current model.
pub type OnRlhfEval<'a> = &'a mut dyn FnMut(&RlhfStep, &Llama) -> Result<()>;

pub fn run_rlhf(base: &Model, task: &dyn Task, p: &RlhfParams, progress: Progress) -> Result<RlhfReport> {
    run_rlhf_observed(base, task, p, progress, &mut |_, _| Ok(()))
}

pub fn run_rlhf_observed(base: &Model, task: &dyn Task, p: &RlhfParams, progress: Progress, on_eval: OnRlhfEval) -> Result<RlhfReport> {
    p.validate()?;
    let eos = base.tok.eos;
    let bl = Baseline::new(base, task, p.prompts, p.seed, p.threshold)?;
    let tr = base.trainable_copy()?;
    let vars = tr.sorted_vars();
    let mut opt = AdamW::new(vars.clone(), ParamsAdamW { lr: p.lr, weight_decay: 0.0, ..Default::default() })?;
    let eval = |s: usize, loss: Option<f64>, drawn: usize, drawn_policy: usize| -> Result<(RlhfStep, Vec<f64>)> {
        let e = evaluate(base, &tr.view, task, &bl, p.threshold, Target { delta: p.delta, gamma: p.gamma }, s, loss, Some(p.beta))?;
        let kl = e.kl_closed_form.unwrap_or(f64::NAN);
        Ok((RlhfStep { metrics: e.metrics, kl_to_closed_form: kl, samples_drawn: drawn, samples_policy: drawn_policy }, e.p_star))
    };
    let (first, mut last_p) = eval(0, None, 0, 0)?;
    on_eval(&first, &tr.view)?;
    let mut steps = vec![first];
    let (mut drawn, mut drawn_policy, mut skipped) = (0usize, 0usize, 0usize);
    let mut draws = Vec::new();
    let mut order: Vec<usize> = Vec::new();
    let mut epoch = 0u64;
    for s in 1..=p.steps {
        if !progress(s - 1, p.steps) {
            return Err(Error::Cancelled);
        }
        opt.set_learning_rate(cosine_lr(p.lr, s, p.steps));
        let (mut ys, mut ys2) = (Vec::new(), Vec::new());
        for k in 0..p.pairs {
            if order.is_empty() {
                order = (0..bl.problems.len()).collect();
                Rng::new(p.seed, Stream::Shuffle { of: Shuffled::RlhfPrompts, epoch })?.shuffle(&mut order);
                epoch += 1;
            }
            let i = order.pop().unwrap();
            let ids = &bl.prompt_ids[i];
            // Each answer's stream is named by the step, the prompt and the
            // pair slot: no two draws of a run share one.
            let stream = |side| Stream::Pair { step: s as u64, prompt: i as u64, slot: k as u64, side };
            let (y, y2) = if p.online {
                let y = sample_batch(&tr.view, ids, eos, &p.sampling, p.seed, &[stream(PairSide::Y)])?.remove(0);
                let y2 = sample_batch(&base.llama, ids, eos, &p.sampling, p.seed, &[stream(PairSide::YPrime)])?.remove(0);
                drawn_policy += 1;
                drawn += 1;
                (y, y2)
            } else {
                let mut two = sample_batch(&base.llama, ids, eos, &p.sampling, p.seed, &[stream(PairSide::Y), stream(PairSide::YPrime)])?;
                drawn += 2;
                let y2 = two.pop().unwrap();
                (two.pop().unwrap(), y2)
            };
            draws.push(PairDraw {
                step: s,
                prompt: i,
                streams: [stream(PairSide::Y).id()?, stream(PairSide::YPrime).id()?],
                y: y.tokens.clone(),
                y_prime: y2.tokens.clone(),
            });
            if !(y.complete && y2.complete) {
                skipped += 1;
                continue;
            }
            let ex = |t: &[u32]| Example { prompt: ids.clone(), target: [t, &[eos]].concat() };
            ys.push(ex(&y.tokens));
            ys2.push(ex(&y2.tokens));
        }
        if ys.is_empty() {
            continue;
        }
        // log pi_base of both answers (exact scoring by the frozen base model).
        let items: Vec<Scored> =
            ys.iter().chain(&ys2).map(|e| Scored { prompt: &e.prompt, continuation: &e.target }).collect();
        let lb = score(&base.llama, &items)?;
        let (lb_y, lb_y2) = lb.split_at(ys.len());
        let both: Vec<Example> = ys.iter().chain(&ys2).cloned().collect();
        let lp = seq_logprobs(&tr.train, &both)?;
        let n = ys.len();
        let alpha = if p.online { p.alpha } else { 0.0 };
        let loss = eq8_loss(&lp.narrow(0, 0, n)?, &lp.narrow(0, n, n)?, lb_y, lb_y2, p.beta, alpha)?;
        let (l, _) = step(&mut opt, &vars, &loss, p.clip).map_err(|e| match e {
            Error::NonFinite(m) => Error::NonFinite(format!("at step {s}: {m}")),
            e => e,
        })?;
        if s % p.eval_every == 0 || s == p.steps {
            let (m, ps) = eval(s, Some(l), drawn, drawn_policy)?;
            on_eval(&m, &tr.view)?;
            last_p = ps;
            steps.push(m);
        }
    }
    progress(p.steps, p.steps);
    let p_star: Vec<f64> = bl.dists.iter().map(|d| d.y_star().map_or(0.0, |a| a.logp.exp())).collect();
    Ok(RlhfReport {
        steps,
        prompts: bl.problems.len(),
        marked_prompts: bl.marked(),
        wrong_mode_prompts: bl.wrong_mode_count(),
        c_cov: coverage(&p_star),
        skipped_pairs: skipped,
        max_leftover: bl.max_leftover(),
        uncertified_prompts: bl.uncertified(),
        wrong_mode: bl.wrong_modes(base, &last_p),
        online: p.online,
        alpha: if p.online { p.alpha } else { 0.0 },
        draws,
    })
}
