//! Coverage vs exploration on Example J.1's classes (arXiv 2412.01951, Thm
//! 4.1, Eq. 8, Alg. 1, Thm J.3): `pi(y*)` and whether the model is sharpened
//! against the number of samples drawn, for
//!
//! * `sft`: SFT-Sharpening with N samples per prompt; at a budget of `m`
//!   samples, `m / N` best-of-N winners (by `log pi_base`), fitted by maximum
//!   likelihood from `pi_base`;
//! * `rlhf_offline`: Eq. 8 on `m / 2` pairs from `pi_base`, fitted from `pi_base`;
//! * `rlhf_online`: Alg. 1 as the paper states it: round `t` draws `y ~ pi^(t)`
//!   and `y' ~ pi_base`, adds the triple to `D`, and refits on all of `D`
//!   `argmin alpha sum_D log pi(y') + sum_D (beta log pi(y)/pi_base(y) - beta
//!   log pi(y')/pi_base(y') - (r(y) - r(y')))^2` (warm-started at `pi^(t)`);
//!   what it returns after `t` rounds is the round with the largest
//!   `J_beta(pi) = E_pi[log pi_base] - beta KL(pi || pi_base)`, here computed
//!   exactly (the paper estimates it on validation data);
//! * `rlhf_online_onestep`: the lab's one-step variant (fresh triple each
//!   round, one Adam step on it, nothing kept), as `sharpen rlhf --online`.
//!
//! Every fit is Adam inside `||theta|| <= B`; every number is exact (the
//! classes are enumerable); one run per method with its own random streams.

use serde::{Deserialize, Serialize};

use super::complexity::bon_needed;
use super::linear::{adam, dot, LinearClass, PairStats, Response, Structure};
use crate::error::{check, Result};
use crate::rng::LinearSide;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CoverageParams {
    pub structure: Structure,
    /// Answer length `d` (`2^d` answers).
    pub d: usize,
    pub beta: f64,
    /// Norm bound `B` (None: `2 d log d`, Example J.1's `C d log d` with `C = 2`).
    pub b: Option<f64>,
    pub delta: f64,
    /// Sample budgets at which every method is measured.
    pub budgets: Vec<usize>,
    pub sft_n: Vec<usize>,
    /// Optimism weights of the online runs.
    pub alphas: Vec<f64>,
    /// Adam steps of each fit (each round's refit for Alg. 1).
    pub fit_steps: usize,
    pub lr: f64,
    pub seed: u64,
}

impl Default for CoverageParams {
    fn default() -> Self {
        Self {
            structure: Structure::Lock,
            d: 10,
            beta: 0.05,
            b: None,
            delta: 0.1,
            budgets: vec![8, 32, 128, 512, 2048],
            sft_n: vec![1, 4, 16, 64, 256],
            alphas: vec![0.0, 0.01, 0.1],
            fit_steps: 100,
            lr: 0.2,
            seed: 0,
        }
    }
}

impl CoverageParams {
    pub fn validate(&self) -> Result<()> {
        let checks = [
            (!(self.beta.is_finite() && (0.001..=10.0).contains(&self.beta)), "beta must be in 0.001..=10"),
            (!(self.delta > 0.0 && self.delta < 1.0), "delta must be strictly between 0 and 1"),
            (self.budgets.is_empty() || self.budgets.len() > 10 || self.budgets.iter().any(|&m| !(2..=8192).contains(&m)), "budgets: 1 to 10 sample counts, each in 2..=8192"),
            (self.sft_n.len() > 8 || self.sft_n.iter().any(|&n| n == 0 || n > 8192), "SFT N: at most 8 values, each in 1..=8192"),
            (self.alphas.len() > 6 || self.alphas.iter().any(|a| !(a.is_finite() && (0.0..=10.0).contains(a))), "alphas: at most 6 values, each in 0..=10"),
            (self.fit_steps == 0 || self.fit_steps > 2000, "fit steps must be in 1..=2000"),
            (!(self.lr.is_finite() && self.lr > 0.0 && self.lr <= 10.0), "learning rate must be in (0, 10]"),
        ];
        check(&checks)
    }

    pub fn b_or_default(&self) -> f64 {
        self.b.unwrap_or(2.0 * self.d as f64 * (self.d as f64).ln())
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CurvePoint {
    pub samples: usize,
    pub samples_base: usize,
    pub samples_policy: usize,
    pub p_star: f64,
    /// 1 when `pi(y*) >= 1 - delta` (one prompt: the sharpened share is 0 or 1).
    pub sharpened: f64,
    /// `J_beta` of the model (exact; only on Example J.1's classes, where
    /// the whole answer distribution is cheap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objective: Option<f64>,
    /// Mean mass the model keeps on the answers the base model lists (exact
    /// for those answers; on a transformer, at each curve's last point: a
    /// model whose `pi(y*)` falls while this stays near 1 moved mass among
    /// the base's answers, one where it falls moved mass off them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support: Option<f64>,
    /// Adam steps taken when measured (on a transformer the same for every
    /// method at a budget).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimizer_steps: Option<usize>,
    /// Training examples (SFT) or triples (RLHF) the last fit had, and how
    /// many distinct ones the method's steps used (means over seeds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distinct_examples: Option<f64>,
    /// `pi(y*)` of each seed's run (`p_star` is their mean).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_star_seeds: Option<Vec<f64>>,
    /// Mean mass on the enumerated answers the task cannot read (exact for
    /// those answers), and the mass the enumeration leaves unlisted (answers
    /// below its threshold or cut off): the mass on malformed answers is at
    /// least the first and at most their sum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub malformed: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unlisted: Option<f64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MethodCurve {
    pub method: String,
    /// SFT's samples per prompt (None for RLHF).
    pub n: Option<usize>,
    /// The optimism weight of an online run (None offline and for SFT).
    pub alpha: Option<f64>,
    pub curve: Vec<CurvePoint>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CoverageReport {
    pub structure: Structure,
    pub d: usize,
    /// Number of answers, `2^d`.
    pub answers: f64,
    pub b: f64,
    pub beta: f64,
    pub delta: f64,
    /// All numbers are exact (enumerable classes).
    pub exact: bool,
    pub c_cov: f64,
    /// Assumption 4.2's margin of `pi_base`.
    pub margin: f64,
    pub p_star_base: f64,
    /// `pi*_beta(y*)` of the closed form `(1 + 1/beta) theta*` (projected into the ball if outside it).
    pub p_star_closed_form: f64,
    /// Thm J.3's `beta = gamma_margin / (2 log(2 |Y| / delta))`.
    pub beta_thm_j3: f64,
    /// Samples best-of-N needs to put `1 - delta` on `y*` (exact).
    pub bon_n_needed: usize,
    pub methods: Vec<MethodCurve>,
}

fn point(class: &LinearClass, theta: &[f64], p: &CoverageParams, base: usize, policy: usize) -> CurvePoint {
    let ps = class.p_star(theta);
    CurvePoint {
        samples: base + policy,
        samples_base: base,
        samples_policy: policy,
        p_star: ps,
        sharpened: f64::from(u8::from(ps >= 1.0 - p.delta)),
        objective: Some(class.objective(theta, p.beta)),
        ..CurvePoint::default()
    }
}

/// SFT-Sharpening with `n` samples per prompt at each budget (run `run`).
pub(crate) fn sft(class: &LinearClass, p: &CoverageParams, n: usize, run: u64) -> Result<Vec<CurvePoint>> {
    let base = class.theta_base();
    let mut out = Vec::new();
    for &m in p.budgets.iter().filter(|&&m| m >= n) {
        let groups = m / n;
        let mut winners: Vec<Response> = Vec::new();
        for j in 0..groups {
            let draws = (0..n).map(|k| class.draw(&base, p.seed, run, (j * n + k) as u64, LinearSide::Base)).collect::<Result<Vec<_>>>()?;
            // The largest log pi_base(y): log Z is the same for every draw, so compare <theta*, phi(y)>.
            let reward = |y: Response| dot(&base, &class.phi[y]);
            winners.push(*draws.iter().max_by(|a, b| reward(**a).total_cmp(&reward(**b))).expect("n >= 1"));
        }
        let target: Vec<f64> = (0..class.dims()).map(|i| winners.iter().map(|&w| class.phi[w][i]).sum::<f64>() / groups as f64).collect();
        let mut theta = base.clone();
        // Maximum likelihood: the gradient of the mean NLL is E_theta[phi] - mean phi(winner).
        adam(class, &mut theta, p.fit_steps, p.lr, &|t| class.mean(t).iter().zip(&target).map(|(a, b)| a - b).collect());
        out.push(point(class, &theta, p, groups * n, 0));
    }
    Ok(out)
}

/// Eq. 8 on pairs from `pi_base` at each budget (run `run`).
pub(crate) fn offline(class: &LinearClass, p: &CoverageParams, run: u64) -> Result<Vec<CurvePoint>> {
    let base = class.theta_base();
    let mut stats = PairStats::new(class.dims());
    let mut drawn = 0;
    let mut out = Vec::new();
    for &m in &p.budgets {
        while drawn < m / 2 {
            let y = class.draw(&base, p.seed, run, 2 * drawn as u64, LinearSide::Base)?;
            let y2 = class.draw(&base, p.seed, run, 2 * drawn as u64 + 1, LinearSide::Base)?;
            stats.add(class, y, y2);
            drawn += 1;
        }
        let mut theta = base.clone();
        adam(class, &mut theta, p.fit_steps, p.lr, &|t| stats.grad(class, t, p.beta, 0.0));
        out.push(point(class, &theta, p, 2 * drawn, 0));
    }
    Ok(out)
}

/// What an Alg. 1 curve reports after `t` rounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Returned {
    /// The round with the largest `J_beta`, computed exactly: it uses
    /// `pi_base` beyond the samples counted (the paper estimates it on
    /// validation data).
    BestByObjective,
    /// The last round's policy: nothing outside the samples counted.
    Last,
}

/// Alg. 1 (`onestep`: the one-step variant) with optimism `alpha` (run `run`).
pub(crate) fn online(class: &LinearClass, p: &CoverageParams, alpha: f64, onestep: bool, returned: Returned, run: u64) -> Result<Vec<CurvePoint>> {
    let base = class.theta_base();
    let rounds = p.budgets.iter().max().expect("validated") / 2;
    let mut theta = base.clone();
    let mut best = (class.objective(&theta, p.beta), theta.clone());
    let mut stats = PairStats::new(class.dims());
    let mut out = Vec::new();
    for t in 1..=rounds {
        let y = class.draw(&theta, p.seed, run, t as u64, LinearSide::Policy)?;
        let y2 = class.draw(&base, p.seed, run, t as u64, LinearSide::Base)?;
        if onestep {
            let mut one = PairStats::new(class.dims());
            one.add(class, y, y2);
            let rate = p.lr * 0.5 * (1.0 + (std::f64::consts::PI * (t - 1) as f64 / rounds as f64).cos());
            adam(class, &mut theta, 1, rate, &|th| one.grad(class, th, p.beta, alpha));
            best = (class.objective(&theta, p.beta), theta.clone());
        } else {
            stats.add(class, y, y2);
            adam(class, &mut theta, p.fit_steps, p.lr, &|th| stats.grad(class, th, p.beta, alpha));
            let j = class.objective(&theta, p.beta);
            if j > best.0 {
                best = (j, theta.clone());
            }
        }
        if p.budgets.contains(&(2 * t)) {
            out.push(point(class, if returned == Returned::Last { &theta } else { &best.1 }, p, t, t));
        }
    }
    Ok(out)
}

pub fn run_coverage(p: &CoverageParams, progress: super::bon::Progress) -> Result<CoverageReport> {
    p.validate()?;
    let class = LinearClass::new(p.structure, p.d, p.b_or_default())?;
    let mut budgets = p.budgets.clone();
    budgets.sort_unstable();
    budgets.dedup();
    let p = &CoverageParams { budgets, ..p.clone() };
    let total = p.sft_n.len() + 1 + 2 * p.alphas.len();
    let mut methods = Vec::new();
    let mut run = 0u64;
    let mut step = |methods: &mut Vec<MethodCurve>, m: MethodCurve| {
        methods.push(m);
        run += 1;
        if progress(methods.len(), total) { Ok(run) } else { Err(crate::error::Error::Cancelled) }
    };
    let mut r = 0;
    for &n in &p.sft_n {
        let c = sft(&class, p, n, r)?;
        r = step(&mut methods, MethodCurve { method: "sft".into(), n: Some(n), alpha: None, curve: c })?;
    }
    let c = offline(&class, p, r)?;
    r = step(&mut methods, MethodCurve { method: "rlhf_offline".into(), n: None, alpha: None, curve: c })?;
    for &a in &p.alphas {
        let c = online(&class, p, a, false, Returned::BestByObjective, r)?;
        r = step(&mut methods, MethodCurve { method: "rlhf_online".into(), n: None, alpha: Some(a), curve: c })?;
        let c = online(&class, p, a, true, Returned::BestByObjective, r)?;
        r = step(&mut methods, MethodCurve { method: "rlhf_online_onestep".into(), n: None, alpha: Some(a), curve: c })?;
    }
    let base = class.theta_base();
    let mut cf = class.closed_form(p.beta);
    class.project(&mut cf);
    let answers = 2f64.powi(p.d as i32);
    Ok(CoverageReport {
        structure: p.structure,
        d: p.d,
        answers,
        b: class.b,
        beta: p.beta,
        delta: p.delta,
        exact: true,
        c_cov: class.c_cov(),
        margin: class.margin(),
        p_star_base: class.p_star(&base),
        p_star_closed_form: class.p_star(&cf),
        beta_thm_j3: class.margin() / (2.0 * (2.0 * answers / p.delta).ln()),
        bon_n_needed: bon_needed(class.p_star(&base), p.delta),
        methods,
    })
}
