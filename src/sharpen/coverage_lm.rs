//! Coverage vs exploration on a built-in transformer (`lock`, `add`, `mul`):
//! the experiment of `coverage.rs` (arXiv 2412.01951, Thm 4.1, Eq. 8, Alg. 1)
//! with the lab's own models in place of Example J.1's linear class. At each
//! per-prompt sample budget `m`, on `prompts` prompts:
//!
//! * `sft`: SFT-Sharpening with N samples per prompt: `m / N` best-of-N
//!   winners (by `log pi_base`) per prompt, fitted by maximum likelihood from
//!   `pi_base`;
//! * `rlhf_offline`: Eq. 8 on `m / 2` pairs per prompt from `pi_base`;
//! * `rlhf_online`: Alg. 1 as stated: round `t` draws, for every prompt,
//!   `y ~ pi^(t)` and `y' ~ pi_base`, adds the triples to `D` and refits on
//!   all of `D`: `argmin alpha sum_D log pi(y') + sum_D (beta log
//!   pi(y)/pi_base(y) - beta log pi(y')/pi_base(y') - (r(y) - r(y')))^2`,
//!   `r = log pi_base`, warm-started at `pi^(t)`. The argmin is approximated
//!   by `fit_steps` Adam steps on mini-batches of all of `D` (the network
//!   cannot be minimised exactly). The curve shows each round's iterate: the
//!   paper returns the best round by an estimate of `J_beta`, which needs the
//!   full answer distribution;
//! * `rlhf_refit_base`: the same accumulate-and-refit schedule with `y` drawn
//!   from `pi_base` as well (the ablation that isolates exploration);
//! * `rlhf_online_fresh`: Alg. 1's draws, each round fitted on its own fresh
//!   triples only (the ablation of keeping `D`).
//!
//! Equal work: at a budget of `m` samples per prompt every method has taken
//! `fit_steps * m / 2` Adam steps of `batch` examples (Alg. 1's `m / 2`
//! rounds of `fit_steps`); SFT and offline RLHF fit from the base model once
//! per budget, their mini-batches drawn without replacement (every example is
//! seen once the steps cover it), each fit with a random stream of its own.
//! Cut-off answers stay in the data (with the probability of their tokens so
//! far) and count in the budget; a cut-off answer never wins best-of-N.
//! `pi(y*)` of every model is exact (`y*` from the base model's enumerated
//! distribution, its probability scored directly); the experiment runs with
//! `seeds` seeds and each point is their mean, with every seed's value.

use serde::{Deserialize, Serialize};

use super::bon::{choose_problems, Progress};
use super::closed_form::closed_form;
use super::complexity::{bon_needed, thm41};
use super::coverage::{CurvePoint, MethodCurve};
use super::eval::Baseline;
use super::metrics::{coverage, mean, sharpened_fraction};
use super::train_step::check_training;
use crate::error::{check, param_err, Error, Result};
use crate::model::Model;
use crate::sample::SampleSettings;
use crate::tasks::Task;

mod ctx;
mod fit;
mod methods;
mod point;
use ctx::Ctx;
use methods::Schedule;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LmCoverageParams {
    pub prompts: usize,
    pub beta: f64,
    pub delta: f64,
    /// `eps` of Thm 4.1's sample count drawn beside the curves.
    pub eps: f64,
    /// Samples per prompt at which every method is measured.
    pub budgets: Vec<usize>,
    pub sft_n: Vec<usize>,
    pub alphas: Vec<f64>,
    /// Adam steps of each round of Alg. 1; every method has taken
    /// `fit_steps * m / 2` steps at a budget of `m` samples per prompt.
    pub fit_steps: usize,
    /// Examples (SFT) or triples (RLHF) per Adam step.
    pub batch: usize,
    pub lr: f64,
    /// Enumeration threshold of the base model's distribution (for `y*`).
    pub threshold: f64,
    /// The first seed; the experiment runs `seeds` seeds from it.
    pub seed: u64,
    pub seeds: usize,
}

impl Default for LmCoverageParams {
    fn default() -> Self {
        Self {
            prompts: 16,
            beta: 0.05,
            delta: 0.1,
            eps: 0.1,
            budgets: vec![2, 8, 32],
            sft_n: vec![1, 4, 16],
            alphas: vec![0.0, 0.1],
            fit_steps: 5,
            batch: 16,
            lr: 1e-3,
            threshold: 1e-4,
            seed: 0,
            seeds: 3,
        }
    }
}

impl LmCoverageParams {
    pub fn validate(&self) -> Result<()> {
        let checks = [
            (
                self.prompts == 0 || self.prompts > 256,
                "prompts must be in 1..=256",
            ),
            (
                !(self.beta.is_finite() && (0.001..=10.0).contains(&self.beta)),
                "beta must be in 0.001..=10",
            ),
            (
                !(self.eps > 0.0 && self.eps < 1.0),
                "eps must be strictly between 0 and 1",
            ),
            (
                self.budgets.is_empty()
                    || self.budgets.len() > 8
                    || self.budgets.iter().any(|&m| !(2..=256).contains(&m)),
                "budgets: 1 to 8 samples-per-prompt counts, each in 2..=256",
            ),
            (
                self.sft_n.len() > 6 || self.sft_n.iter().any(|&n| n == 0 || n > 256),
                "SFT N: at most 6 values, each in 1..=256",
            ),
            (
                self.alphas.len() > 6
                    || self
                        .alphas
                        .iter()
                        .any(|a| !(a.is_finite() && (0.0..=10.0).contains(a))),
                "alphas: at most 6 values, each in 0..=10",
            ),
            (
                self.fit_steps == 0 || self.fit_steps > 1000,
                "fit steps must be in 1..=1000",
            ),
            (
                self.batch == 0 || self.batch > 512,
                "batch must be in 1..=512",
            ),
            (
                self.seeds == 0 || self.seeds > 10,
                "seeds must be in 1..=10",
            ),
        ];
        check(&checks)?;
        check_training(self.lr, 0.0, self.delta, 0.0, 1)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LmCoverageReport {
    pub task: String,
    pub prompts: usize,
    pub beta: f64,
    pub delta: f64,
    pub eps: f64,
    /// True when every prompt's `y*` is certified by the base enumeration:
    /// then `pi(y*)` and the sharpened share of every model are exact (each
    /// run's; a point is the mean of `seeds` runs).
    pub exact: bool,
    pub seeds: usize,
    /// `C_cov` of the prompts (Eq. 6, exact).
    pub c_cov: f64,
    /// Mean `pi_base(y*)` (exact).
    pub p_star_base: f64,
    /// Mean `pi*_beta(y*)` of the closed form and its sharpened share (exact
    /// over the listed answers).
    pub p_star_closed_form: f64,
    pub sharpened_closed_form: f64,
    /// Samples best-of-N needs to put `1 - delta` on every prompt's `y*`
    /// when each prompt gets its own smallest N: the sum of those N (exact,
    /// from each `pi_base(y*)`).
    pub bon_samples: usize,
    /// The same with one N for all prompts (the largest of them), times the prompts.
    pub bon_samples_one_n: usize,
    /// Thm 4.1's `N = C_cov log(2/delta) / eps` per prompt, times the prompts (c = 1).
    pub thm41_samples: f64,
    /// Prompts whose `y*` the base enumeration does not certify.
    pub uncertified_prompts: usize,
    pub max_leftover: f64,
    pub methods: Vec<MethodCurve>,
}

pub fn run_coverage_lm(
    base: &Model,
    task: &dyn Task,
    p: &LmCoverageParams,
    progress: Progress,
) -> Result<LmCoverageReport> {
    p.validate()?;
    crate::tasks::require_enumerable(task, "the coverage experiment")?;
    if p.prompts > task.num_problems() {
        return param_err(format!(
            "{} has {} prompts; ask for at most that many",
            task.name(),
            task.num_problems()
        ));
    }
    let mut budgets = p.budgets.clone();
    budgets.sort_unstable();
    budgets.dedup();
    let p = &LmCoverageParams {
        budgets,
        ..p.clone()
    };
    let bl = Baseline::from_problems(
        base,
        task,
        choose_problems(task, p.prompts, p.seed),
        p.threshold,
    )?;
    let eos = base.tok.eos;
    let stars: Vec<Vec<u32>> = bl
        .dists
        .iter()
        .map(|d| {
            d.y_star()
                .map(|a| [a.tokens.as_slice(), &[eos]].concat())
                .unwrap_or_else(|| vec![eos])
        })
        .collect();
    let sampling = SampleSettings {
        max_new_tokens: task.max_answer_tokens() + 1,
        ..SampleSettings::default()
    };
    let per_seed = p.sft_n.len() + 1 + 3 * p.alphas.len();
    let total = p.seeds * per_seed;
    let mut done = 0;
    let mut tick = || {
        done += 1;
        if progress(done, total) {
            Ok(())
        } else {
            Err(Error::Cancelled)
        }
    };
    let mut runs: Vec<Vec<MethodCurve>> = Vec::new();
    for k in 0..p.seeds {
        let cx = Ctx {
            base,
            task,
            bl: &bl,
            stars: &stars,
            sampling: &sampling,
            p,
            seed: p.seed + k as u64,
        };
        let mut methods: Vec<MethodCurve> = Vec::new();
        let curve = |method: &str, n: Option<usize>, alpha: Option<f64>, curve: Vec<CurvePoint>| {
            MethodCurve {
                method: method.into(),
                n,
                alpha,
                curve,
            }
        };
        // Random streams: `run` numbers the mini-batch streams of every
        // method; the three online schedules at one alpha share their draws.
        let mut run = 0u64;
        for &n in &p.sft_n {
            methods.push(curve("sft", Some(n), None, cx.sft(n, run)?));
            run += 1;
            tick()?;
        }
        methods.push(curve("rlhf_offline", None, None, cx.offline(run)?));
        run += 1;
        tick()?;
        for &a in &p.alphas {
            let draws = run;
            for (key, kind) in [
                ("rlhf_online", Schedule::AlgOne),
                ("rlhf_refit_base", Schedule::RefitBase),
                ("rlhf_online_fresh", Schedule::Fresh),
            ] {
                methods.push(curve(key, None, Some(a), cx.online(a, kind, draws, run)?));
                run += 1;
                tick()?;
            }
        }
        runs.push(methods);
    }
    let p_base: Vec<f64> = bl
        .dists
        .iter()
        .map(|d| d.y_star().map_or(0.0, |a| a.logp.exp()))
        .collect();
    let p_cf: Vec<f64> = bl
        .dists
        .iter()
        .map(|d| {
            closed_form(d, p.beta)
                .y_star()
                .map_or(0.0, |a| a.logp.exp())
        })
        .collect();
    let c_cov = coverage(&p_base);
    let each_n: Vec<usize> = p_base.iter().map(|&x| bon_needed(x, p.delta)).collect();
    Ok(LmCoverageReport {
        task: task.name().to_string(),
        prompts: bl.problems.len(),
        beta: p.beta,
        delta: p.delta,
        eps: p.eps,
        exact: bl.uncertified() == 0,
        seeds: p.seeds,
        c_cov,
        p_star_base: mean(&p_base),
        p_star_closed_form: mean(&p_cf),
        sharpened_closed_form: sharpened_fraction(&p_cf, p.delta),
        bon_samples: each_n.iter().sum(),
        bon_samples_one_n: each_n
            .iter()
            .max()
            .copied()
            .unwrap_or(0)
            .saturating_mul(each_n.len()),
        thm41_samples: thm41(c_cov, 0.0, 1.0, p.eps, p.delta).0 * bl.problems.len() as f64,
        uncertified_prompts: bl.uncertified(),
        max_leftover: bl.max_leftover(),
        methods: mean_over_seeds(runs),
    })
}

/// Every method's curve with each point the mean of the seeds' points (the
/// counts of samples and steps are the same in every seed), `p_star_seeds`
/// listing each seed's `pi(y*)`.
fn mean_over_seeds(runs: Vec<Vec<MethodCurve>>) -> Vec<MethodCurve> {
    let mut out = runs[0].clone();
    for (m, method) in out.iter_mut().enumerate() {
        for (j, point) in method.curve.iter_mut().enumerate() {
            let all: Vec<&CurvePoint> = runs.iter().map(|r| &r[m].curve[j]).collect();
            let avg = |f: &dyn Fn(&CurvePoint) -> Option<f64>| -> Option<f64> {
                all.iter()
                    .map(|c| f(c))
                    .collect::<Option<Vec<f64>>>()
                    .map(|v| mean(&v))
            };
            let seeds: Vec<f64> = all.iter().map(|c| c.p_star).collect();
            point.p_star = mean(&seeds);
            point.sharpened = mean(&all.iter().map(|c| c.sharpened).collect::<Vec<_>>());
            point.support = avg(&|c| c.support);
            point.dataset = avg(&|c| c.dataset);
            point.distinct_examples = avg(&|c| c.distinct_examples);
            point.malformed = avg(&|c| c.malformed);
            point.unlisted = avg(&|c| c.unlisted);
            point.p_star_seeds = Some(seeds);
        }
    }
    out
}
