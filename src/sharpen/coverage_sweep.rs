//! Example J.1 in its theorem's own regime, swept over the answer length `d`
//! (arXiv 2412.01951, Example J.1, Thm J.3, Thm 4.1): how many samples each
//! method needs to sharpen, against `d`, beside `C_cov = exp(Omega(d))`.
//!
//! At each `d` the class is set up as Thm J.3 states it:
//!
//! * `beta = gamma_margin / (2 log(2 |Y| / delta))` (Thm J.3; `gamma_margin`
//!   is Assumption 4.2's margin of `pi_base`, `|Y| = 2^d`);
//! * `B = C d log d` (Example J.1, "for a large enough C"), with one `C` for
//!   the whole sweep: the smallest whole number that puts the closed form
//!   `pi*_beta = pi_{(1 + 1/beta) theta*}` inside `||theta|| <= B` at every `d`
//!   (realizability, Thm J.2's `pi*_beta in Pi`);
//! * Alg. 1's optimism `alpha` in multiples of Thm J.3's
//!   `alpha(T) = (beta / (B + log|Y|)) sqrt((d log(B d T / (eps delta)) + log(T / rho)) / (d T log T))`,
//!   with `T` the rounds of the largest budget and `eps = rho = delta`, carried
//!   over to the loss the lab minimises (Alg. 1 as stated: weight 1 on the
//!   squared residuals). The proof's objective weighs the squared residuals
//!   `beta / (alpha (V_max + R_max)^2)` against the optimism term, with
//!   `V_max = beta R_max` and `R_max = 1 + max_y log(1 / pi_base(y))`, so the
//!   same balance is `alpha (V_max + R_max)^2 / beta` here.
//!
//! Each method runs at every budget of a grid; `samples_to_sharpen` is the
//! first budget from which on `pi(y*) >= 1 - delta` at every larger budget,
//! for every seed (the true number lies between the grid's previous budget
//! and it), `None` when the grid ran out first. Alg. 1 reports its last round (no model selection
//! with `pi_base` outside the samples counted). Every probability is exact.

use serde::{Deserialize, Serialize};

use super::complexity::bon_needed;
use super::coverage::{offline, online, sft, CoverageParams, CurvePoint, Returned};
use super::linear::{dot, LinearClass, Structure};
use crate::error::{check, Result};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SweepParams {
    pub structure: Structure,
    /// Answer lengths `d` (`2^d` answers each).
    pub ds: Vec<usize>,
    pub delta: f64,
    /// The grid of sample budgets every method runs at.
    pub budgets: Vec<usize>,
    pub sft_n: Vec<usize>,
    /// Alg. 1's optimism in multiples of Thm J.3's `alpha` (0: none).
    pub alpha_scales: Vec<f64>,
    pub fit_steps: usize,
    pub lr: f64,
    pub seed: u64,
    /// Seeds `seed..seed + seeds`.
    pub seeds: usize,
}

impl Default for SweepParams {
    fn default() -> Self {
        Self {
            structure: Structure::Lock,
            ds: vec![4, 6, 8, 10],
            delta: 0.1,
            budgets: (3..=12).map(|k| 1 << k).collect(),
            sft_n: vec![1, 4, 16, 64, 256, 1024],
            alpha_scales: vec![0.0, 1.0],
            fit_steps: 100,
            lr: 0.2,
            seed: 0,
            seeds: 3,
        }
    }
}

impl SweepParams {
    pub fn validate(&self) -> Result<()> {
        let checks = [
            (
                self.ds.is_empty()
                    || self.ds.len() > 8
                    || self.ds.iter().any(|d| !(2..=12).contains(d)),
                "d: 1 to 8 answer lengths, each in 2..=12",
            ),
            (
                self.alpha_scales.len() > 4
                    || self
                        .alpha_scales
                        .iter()
                        .any(|a| !(a.is_finite() && (0.0..=1e4).contains(a))),
                "alpha scales: at most 4 values, each in 0..=10000",
            ),
            (
                self.seeds == 0 || self.seeds > 10,
                "seeds must be in 1..=10",
            ),
        ];
        check(&checks)?;
        // The rest is checked where each d's runs are set up.
        self.at(self.ds[0], 0.1, 2.0, self.seed).validate()
    }

    /// The single-`d` experiment the sweep runs at `d` for one seed.
    fn at(&self, d: usize, beta: f64, b: f64, seed: u64) -> CoverageParams {
        CoverageParams {
            structure: self.structure,
            d,
            beta,
            b: Some(b),
            delta: self.delta,
            budgets: self.budgets.clone(),
            sft_n: self.sft_n.clone(),
            alphas: vec![],
            fit_steps: self.fit_steps,
            lr: self.lr,
            seed,
        }
    }
}

/// One method at one `d`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SweepMethod {
    /// `sft`, `rlhf_offline` or `rlhf_online` (Alg. 1).
    pub method: String,
    /// SFT's samples per prompt.
    pub n: Option<usize>,
    /// Alg. 1's optimism weight and its multiple of Thm J.3's.
    pub alpha: Option<f64>,
    pub alpha_scale: Option<f64>,
    /// The first budget from which on every seed stays sharpened (`None`: none).
    pub samples_to_sharpen: Option<usize>,
    pub samples_to_sharpen_seeds: Vec<Option<usize>>,
    /// `pi(y*)` at the largest budget, each seed.
    pub final_p_star_seeds: Vec<f64>,
    /// SFT: `pi^BoN_N(y*) = 1 - (1 - pi_base(y*))^N` (exact), the `pi(y*)`
    /// of the best-of-N distribution that its fit converges to.
    pub bon_p_star: Option<f64>,
}

/// One `d`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SweepRow {
    pub d: usize,
    pub answers: f64,
    /// Eq. 6 (one prompt: `1 / pi_base(y*)`).
    pub c_cov: f64,
    /// Assumption 4.2's margin.
    pub margin: f64,
    /// Thm J.3's `beta`.
    pub beta: f64,
    /// `C d log d`.
    pub b: f64,
    /// `||(1 + 1/beta) theta*||`: at most `b` (in the class).
    pub closed_form_norm: f64,
    pub closed_form_p_star: f64,
    pub p_star_base: f64,
    /// Samples best-of-N needs to put `1 - delta` on `y*` (exact).
    pub bon_n_needed: usize,
    /// Thm J.3's `alpha` on the lab's loss (multiplied by each scale).
    pub alpha_thm_j3: f64,
    pub methods: Vec<SweepMethod>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SweepReport {
    pub structure: Structure,
    pub delta: f64,
    /// `B = c d log d` at every `d`.
    pub c: f64,
    pub budgets: Vec<usize>,
    /// Every probability is exact; `samples_to_sharpen` is on the budget grid.
    pub exact: bool,
    pub sweep: Vec<SweepRow>,
}

/// Thm J.3's `beta` for a class.
fn beta_thm_j3(class: &LinearClass, delta: f64) -> f64 {
    class.margin() / (2.0 * ((2.0 * 2f64.powi(class.d as i32)) / delta).ln())
}

/// `R_max = 1 + max_y log(1 / pi_base(y))` (Thm J.2).
fn r_max(class: &LinearClass) -> f64 {
    let base = class.theta_base();
    1.0 + (0..class.phi.len())
        .map(|t| -class.logp(&base, t))
        .fold(0.0, f64::max)
}

/// Thm J.3's `alpha(T)` carried over to the lab's loss (module docs).
fn alpha_thm_j3(class: &LinearClass, beta: f64, delta: f64, rounds: usize) -> f64 {
    let (d, t, b) = (class.d as f64, rounds.max(2) as f64, class.b);
    let log_y = d * std::f64::consts::LN_2;
    let paper = beta / (b + log_y)
        * ((d * (b * d * t / (delta * delta)).ln() + (t / delta).ln()) / (d * t * t.ln())).sqrt();
    let r = r_max(class);
    paper * (beta * r + r).powi(2) / beta
}

/// The first budget of `curve` from which on `pi(y*) >= 1 - delta` at every
/// budget (a run sharpened by a lucky small sample and not at the next
/// budget has not sharpened).
fn first_sharpened(curve: &[CurvePoint], delta: f64) -> Option<usize> {
    let stays = curve
        .iter()
        .rev()
        .take_while(|c| c.p_star >= 1.0 - delta)
        .count();
    (stays > 0).then(|| curve[curve.len() - stays].samples)
}

fn method(
    method: &str,
    n: Option<usize>,
    alpha: Option<(f64, f64)>,
    curves: &[Vec<CurvePoint>],
    delta: f64,
    bon_p_star: Option<f64>,
) -> SweepMethod {
    let seeds: Vec<Option<usize>> = curves.iter().map(|c| first_sharpened(c, delta)).collect();
    let all = seeds.iter().try_fold(0, |a, s| s.map(|s| a.max(s)));
    SweepMethod {
        method: method.into(),
        n,
        alpha: alpha.map(|a| a.0),
        alpha_scale: alpha.map(|a| a.1),
        samples_to_sharpen: all,
        samples_to_sharpen_seeds: seeds,
        final_p_star_seeds: curves
            .iter()
            .map(|c| c.last().map_or(f64::NAN, |p| p.p_star))
            .collect(),
        bon_p_star,
    }
}

pub fn run_sweep(p: &SweepParams, progress: super::bon::Progress) -> Result<SweepReport> {
    p.validate()?;
    let mut budgets = p.budgets.clone();
    budgets.sort_unstable();
    budgets.dedup();
    let p = &SweepParams {
        budgets,
        ..p.clone()
    };
    // One C for the sweep: the smallest whole number with pi*_beta in the class at every d.
    let mut c = 1.0f64;
    for &d in &p.ds {
        let class = LinearClass::new(p.structure, d, 2.0)?;
        let beta = beta_thm_j3(&class, p.delta);
        let norm = (1.0 + 1.0 / beta) * dot(&class.theta_base(), &class.theta_base()).sqrt();
        c = c.max((norm / (d as f64 * (d as f64).ln())).ceil());
    }
    let rounds = p.budgets.last().expect("validated") / 2;
    let total = p.ds.len() * p.seeds;
    let mut sweep = Vec::new();
    for (i, &d) in p.ds.iter().enumerate() {
        let b = c * d as f64 * (d as f64).ln();
        let class = LinearClass::new(p.structure, d, b)?;
        let beta = beta_thm_j3(&class, p.delta);
        let alpha = alpha_thm_j3(&class, beta, p.delta, rounds);
        // curves[method][seed]
        let mut curves: Vec<Vec<Vec<CurvePoint>>> =
            vec![Vec::new(); p.sft_n.len() + 1 + p.alpha_scales.len()];
        for s in 0..p.seeds {
            let q = p.at(d, beta, b, p.seed + s as u64);
            let mut run = 0u64;
            for (k, &n) in p.sft_n.iter().enumerate() {
                curves[k].push(sft(&class, &q, n, run)?);
                run += 1;
            }
            curves[p.sft_n.len()].push(offline(&class, &q, run)?);
            run += 1;
            for (k, &scale) in p.alpha_scales.iter().enumerate() {
                curves[p.sft_n.len() + 1 + k].push(online(
                    &class,
                    &q,
                    alpha * scale,
                    false,
                    Returned::Last,
                    run,
                )?);
                run += 1;
            }
            if !progress(i * p.seeds + s + 1, total) {
                return Err(crate::error::Error::Cancelled);
            }
        }
        let base = class.theta_base();
        let p_star_base = class.p_star(&base);
        let mut methods: Vec<SweepMethod> = p
            .sft_n
            .iter()
            .zip(&curves)
            .map(|(&n, cs)| {
                method(
                    "sft",
                    Some(n),
                    None,
                    cs,
                    p.delta,
                    Some(1.0 - (1.0 - p_star_base).powi(n as i32)),
                )
            })
            .collect();
        methods.push(method(
            "rlhf_offline",
            None,
            None,
            &curves[p.sft_n.len()],
            p.delta,
            None,
        ));
        for (k, &scale) in p.alpha_scales.iter().enumerate() {
            methods.push(method(
                "rlhf_online",
                None,
                Some((alpha * scale, scale)),
                &curves[p.sft_n.len() + 1 + k],
                p.delta,
                None,
            ));
        }
        let cf = class.closed_form(beta);
        sweep.push(SweepRow {
            d,
            answers: 2f64.powi(d as i32),
            c_cov: class.c_cov(),
            margin: class.margin(),
            beta,
            b,
            closed_form_norm: dot(&cf, &cf).sqrt(),
            closed_form_p_star: class.p_star(&cf),
            p_star_base,
            bon_n_needed: bon_needed(p_star_base, p.delta),
            alpha_thm_j3: alpha,
            methods,
        });
    }
    Ok(SweepReport {
        structure: p.structure,
        delta: p.delta,
        c,
        budgets: p.budgets.clone(),
        exact: true,
        sweep,
    })
}
