//! Sample complexity, exact (arXiv 2412.01951, Def. 3.1, Def. F.1, Thm 3.1,
//! Thm 4.1): how many samples sharpening needs for a target `(eps, delta)`.
//!
//! * **Best-of-N** with the log-likelihood reward (Eq. 2) returns an answer of
//!   `y*_gamma(x)` exactly when one is among its `N` samples from `pi_base`
//!   (every member is more likely than every non-member), so the distribution
//!   it returns gives `y*_gamma` mass `1 - (1 - pi_base(y*_gamma|x))^N`. A
//!   prompt is `delta`-sharpened from the smallest `N_x` with
//!   `(1 - p)^N_x <= delta`, and best-of-N is `(eps, delta)`-sharpened (Def. 3.1;
//!   Def. F.1 for `gamma > 0`) at the `(1 - eps)`-quantile of `N_x` over the
//!   prompts: exact, from each prompt's enumerated `pi_base(y*_gamma|x)`.
//! * **SFT-Sharpening** is run for every `(N, n)` of a grid, training on `n`
//!   prompts apart from the evaluation prompts (Def. 3.1 is over `x ~ mu`, not
//!   the training set), each trained model's `pi(y*_gamma|x)` scored exactly
//!   on the evaluation prompts. A row reports the cheapest run (fewest samples
//!   `n N`, then smallest `N`) that is `(eps, delta)`-sharpened: one run per
//!   grid point, so it is a measurement, not a minimum over seeds.
//! * **Thm 4.1** (upper bound for SFT-Sharpening): `N = c C_cov log(2/delta) /
//!   eps` and `n = c log(|Pi|/rho) / (delta eps)`; **Thm 3.1** (lower bound for
//!   any sample-and-evaluate method, on the worst class with that coverage):
//!   `m = C_cov log|Pi| / (eps^2 (1 + log(C_cov/eps)))`. Both are drawn with
//!   `c = 1`; with `gamma > 0`, with `C_cov,gamma` (Def. F.1). `log|Pi|` is the
//!   caller's or, by default, the model's weights counted as a finite class:
//!   `32 P log 2` for `P` f32 parameters.
//!
//! With `c = 1` best-of-N never needs more than Thm 4.1's `N`: a prompt fails
//! only if `N p < log(1/delta)` (as `-log(1-p) >= p`), i.e. `1/p > N /
//! log(1/delta)`, and by Markov's inequality over the prompts that happens on
//! at most `C_cov log(1/delta) / N < eps` of them (tested).

use serde::{Deserialize, Serialize};

use super::bon::{choose_problems, Progress};
use super::exact::enumerate;
use super::metrics::mean;
use super::sft::{fit_sft_on, SftParams};
use crate::error::{check, param_err, Result};
use crate::model::Model;
use crate::score::{score, Scored};
use crate::tasks::Task;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ComplexityParams {
    /// Evaluation prompts (`x ~ mu` of Def. 3.1).
    pub prompts: usize,
    pub eps: Vec<f64>,
    pub delta: Vec<f64>,
    /// `gamma` of Def. F.1 (0: exact sharpening, `y*` itself).
    pub gamma: f64,
    /// SFT-Sharpening grid: samples per prompt `N`...
    pub sft_n: Vec<usize>,
    /// ... and training prompts `n` (apart from the evaluation prompts).
    pub sft_prompts: Vec<usize>,
    pub sft_steps: usize,
    /// Failure probability `rho` of Thm 4.1.
    pub rho: f64,
    /// `log |Pi|`; None: `32 P log 2` for the model's `P` parameters.
    pub log_class: Option<f64>,
    /// Enumeration threshold of the base distributions.
    pub threshold: f64,
    pub seed: u64,
}

impl Default for ComplexityParams {
    fn default() -> Self {
        Self {
            prompts: 64,
            eps: vec![0.05, 0.1, 0.2, 0.3],
            delta: vec![0.05, 0.1, 0.2, 0.3],
            gamma: 0.0,
            sft_n: vec![1, 4, 16],
            sft_prompts: vec![16, 64, 256],
            sft_steps: 200,
            rho: 0.05,
            log_class: None,
            threshold: 1e-4,
            seed: 0,
        }
    }
}

impl ComplexityParams {
    pub fn validate(&self) -> Result<()> {
        let unit = |v: &[f64]| v.is_empty() || v.len() > 8 || v.iter().any(|x| !(x.is_finite() && *x > 0.0 && *x < 1.0));
        let counts = |v: &[usize], max| v.is_empty() || v.len() > 8 || v.iter().any(|&x| x == 0 || x > max);
        let checks = [
            (self.prompts == 0 || self.prompts > 1000, "evaluation prompts must be in 1..=1000"),
            (unit(&self.eps), "eps: 1 to 8 values, each strictly between 0 and 1"),
            (unit(&self.delta), "delta: 1 to 8 values, each strictly between 0 and 1"),
            (!(self.gamma.is_finite() && (0.0..1.0).contains(&self.gamma)), "gamma must be in [0, 1)"),
            (counts(&self.sft_n, 256), "SFT sample counts N: 1 to 8 values, each in 1..=256"),
            (counts(&self.sft_prompts, 1000), "SFT prompt counts n: 1 to 8 values, each in 1..=1000"),
            (self.sft_steps > 2000, "SFT steps must be at most 2000"),
            (!(self.rho.is_finite() && self.rho > 0.0 && self.rho < 1.0), "rho must be strictly between 0 and 1"),
            (self.log_class.is_some_and(|l| !(l.is_finite() && l > 0.0)), "log |Pi| must be a positive number"),
            (!(self.threshold > 0.0 && self.threshold <= 1e-2), "threshold must be in (0, 0.01]"),
        ];
        check(&checks)
    }
}

/// One evaluation prompt under the base model (exact).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PromptStar {
    pub prompt: String,
    pub y_star: String,
    /// `pi_base(y*|x)`.
    pub p_star: f64,
    /// `pi_base(y*_gamma|x)` (= `p_star` at `gamma = 0`).
    pub p_star_gamma: f64,
}

/// One SFT-Sharpening run of the grid, evaluated exactly on the evaluation prompts.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SftGridRun {
    pub n: usize,
    pub prompts: usize,
    /// Samples drawn from `pi_base`: `n N`.
    pub samples: usize,
    /// Mean `pi(y*_gamma|x)` over the evaluation prompts after training.
    pub p_star: f64,
    /// Each evaluation prompt's `pi(y*_gamma|x)` after training.
    pub p_star_eval: Vec<f64>,
}

/// One `(eps, delta)` target.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ComplexityRow {
    pub eps: f64,
    pub delta: f64,
    /// Smallest N at which best-of-N by log-likelihood is `(eps, delta)`-sharpened (exact).
    pub bon_n: usize,
    /// The cheapest SFT run of the grid that gets there: its N, its n and
    /// `n N` (None: no run of the grid did).
    pub sft_n: Option<usize>,
    pub sft_prompts: Option<usize>,
    pub sft_samples: Option<usize>,
    /// Thm 4.1 with `c = 1`: `N`, `n` and `m = n N` (bounds, not rounded).
    pub thm41_n: f64,
    pub thm41_prompts: f64,
    pub thm41_samples: f64,
    /// Thm 3.1's lower bound on `m` (worst class with this coverage).
    pub thm31_m: f64,
}

/// What each group of numbers is.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NumberKinds {
    pub c_cov: String,
    pub bon_n: String,
    pub sft: String,
    pub thm41: String,
    pub thm31: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ComplexityReport {
    pub prompts: usize,
    pub gamma: f64,
    /// `C_cov = E_x[1/pi_base(y*|x)]` (Eq. 6) over the evaluation prompts.
    pub c_cov: f64,
    /// `C_cov,gamma = E_x[1/pi_base(y*_gamma|x)]` (Def. F.1).
    pub c_cov_gamma: f64,
    /// True when every evaluation prompt's enumeration certifies its `y*_gamma`.
    pub exact: bool,
    pub uncertified_prompts: usize,
    pub per_prompt: Vec<PromptStar>,
    pub sft: Vec<SftGridRun>,
    pub rows: Vec<ComplexityRow>,
    /// The constant `c` of Thm 4.1 and 3.1 as drawn.
    pub constant_c: f64,
    pub log_class: f64,
    /// Where `log_class` comes from.
    pub log_class_source: String,
    pub rho: f64,
    pub kinds: NumberKinds,
}

/// Smallest `N >= 1` with `(1 - p)^N <= delta`: best-of-N puts mass at least
/// `1 - delta` on `y*` (`usize::MAX` when `p = 0`).
pub fn bon_needed(p: f64, delta: f64) -> usize {
    if p >= 1.0 - delta {
        return 1;
    }
    if p <= 0.0 {
        return usize::MAX;
    }
    let fails = |n: usize| (1.0 - p).powf(n as f64) > delta;
    let mut n = ((delta.ln() / (1.0 - p).ln()).ceil() as usize).max(1);
    while n > 1 && !fails(n - 1) {
        n -= 1;
    }
    while fails(n) {
        n += 1;
    }
    n
}

/// How many of `total` prompts must be sharpened for a share of at least `1 - eps`.
pub fn needed_count(total: usize, eps: f64) -> usize {
    (((1.0 - eps) * total as f64) - 1e-9).ceil().max(0.0) as usize
}

/// Smallest N at which best-of-N is `(eps, delta)`-sharpened on prompts whose
/// `pi_base(y*_gamma|x)` are `p` (Def. 3.1 / F.1).
pub fn bon_n(p: &[f64], eps: f64, delta: f64) -> usize {
    let mut need: Vec<usize> = p.iter().map(|&x| bon_needed(x, delta)).collect();
    need.sort_unstable();
    let k = needed_count(need.len(), eps);
    if k == 0 {
        1
    } else {
        need[k - 1]
    }
}

/// Whether a model with these `pi(y*_gamma|x)` is `(eps, delta)`-sharpened (Def. 3.1).
pub fn is_sharpened(p: &[f64], eps: f64, delta: f64) -> bool {
    p.iter().filter(|&&x| x >= 1.0 - delta).count() >= needed_count(p.len(), eps)
}

/// Thm 4.1 (`c = 1`): `(N, n)`.
pub fn thm41(c_cov: f64, log_class: f64, rho: f64, eps: f64, delta: f64) -> (f64, f64) {
    (c_cov * (2.0 / delta).ln() / eps, (log_class + (1.0 / rho).ln()) / (delta * eps))
}

/// Thm 3.1's lower bound (`c = 1`): `C log|Pi| / (eps^2 (1 + log(C/eps)))`.
pub fn thm31(c_cov: f64, log_class: f64, eps: f64) -> f64 {
    c_cov * log_class / (eps * eps * (1.0 + (c_cov / eps).ln()))
}

/// The rows for every `(eps, delta)` pair, from the base probabilities and the SFT runs.
pub fn rows(p_gamma: &[f64], sft: &[SftGridRun], p: &ComplexityParams, c_cov_gamma: f64, log_class: f64) -> Vec<ComplexityRow> {
    let mut out = Vec::new();
    for &eps in &p.eps {
        for &delta in &p.delta {
            let best = sft
                .iter()
                .filter(|r| is_sharpened(&r.p_star_eval, eps, delta))
                .min_by_key(|r| (r.samples, r.n));
            let (n41, p41) = thm41(c_cov_gamma, log_class, p.rho, eps, delta);
            out.push(ComplexityRow {
                eps,
                delta,
                bon_n: bon_n(p_gamma, eps, delta),
                sft_n: best.map(|r| r.n),
                sft_prompts: best.map(|r| r.prompts),
                sft_samples: best.map(|r| r.samples),
                thm41_n: n41,
                thm41_prompts: p41,
                thm41_samples: n41 * p41,
                thm31_m: thm31(c_cov_gamma, log_class, eps),
            });
        }
    }
    out
}

pub fn run_complexity(base: &Model, task: &dyn Task, p: &ComplexityParams, progress: Progress) -> Result<ComplexityReport> {
    p.validate()?;
    crate::tasks::require_enumerable(task, "the sample-complexity experiment")?;
    let max_train = *p.sft_prompts.iter().max().expect("validated: not empty");
    if p.prompts + max_train > task.num_problems() {
        return param_err(format!(
            "task {} has {} prompts: too few for {} evaluation prompts and {} training prompts apart from them (lower the evaluation prompts or the largest SFT prompt count)",
            task.name(),
            task.num_problems(),
            p.prompts,
            max_train
        ));
    }
    let all = choose_problems(task, p.prompts + max_train, p.seed);
    let (eval, train) = all.split_at(p.prompts);
    let eval_ids = eval.iter().map(|q| base.tok.encode_prompt(&q.prompt)).collect::<Result<Vec<_>>>()?;
    let dists = enumerate(&base.llama, &eval_ids, base.tok.eos, task.max_answer_tokens(), p.threshold)?;
    // Each evaluation prompt's y*_gamma, as scoring items (answer + </s>).
    let mut sets: Vec<(usize, Vec<u32>)> = Vec::new();
    let mut per_prompt = Vec::new();
    let mut uncertified = 0;
    for (i, (q, d)) in eval.iter().zip(&dists).enumerate() {
        let Some(top) = d.y_star() else { return param_err(format!("no complete answer listed for {:?}; lower the threshold", q.prompt)) };
        let near = d.near_argmax(p.gamma);
        for a in &near {
            let mut c = a.tokens.clone();
            c.push(base.tok.eos);
            sets.push((i, c));
        }
        uncertified += usize::from(!d.certifies_near_argmax(p.gamma));
        per_prompt.push(PromptStar {
            prompt: q.prompt.clone(),
            y_star: base.tok.decode(&top.tokens)?,
            p_star: top.logp.exp(),
            p_star_gamma: near.iter().map(|a| a.logp.exp()).sum(),
        });
    }
    let p_gamma: Vec<f64> = per_prompt.iter().map(|x| x.p_star_gamma).collect();
    let c_cov = mean(&per_prompt.iter().map(|x| 1.0 / x.p_star).collect::<Vec<_>>());
    let c_cov_gamma = mean(&p_gamma.iter().map(|x| 1.0 / x).collect::<Vec<_>>());

    let runs = p.sft_prompts.len() * p.sft_n.len();
    let mut sft = Vec::new();
    for &np in &p.sft_prompts {
        for &n in &p.sft_n {
            let k = sft.len();
            let sp = SftParams { prompts: np, n, steps: p.sft_steps, eval_every: p.sft_steps.max(1), seed: p.seed, ..SftParams::default() };
            // Trained on its n prompts, judged on the evaluation prompts only.
            let tr = fit_sft_on(base, task, &train[..np], &sp, &mut |_, _| progress(k, runs))?;
            let items: Vec<Scored> = sets.iter().map(|(i, c)| Scored { prompt: &eval_ids[*i], continuation: c }).collect();
            let mut p_eval = vec![0.0; eval.len()];
            for ((i, _), lp) in sets.iter().zip(score(&tr.view, &items)?) {
                p_eval[*i] += lp.exp();
            }
            sft.push(SftGridRun { n, prompts: np, samples: n * np, p_star: mean(&p_eval), p_star_eval: p_eval });
        }
    }
    let (log_class, log_class_source) = match p.log_class {
        Some(l) => (l, "given".to_string()),
        None => {
            let params = base.llama.config().num_params();
            (32.0 * params as f64 * std::f64::consts::LN_2, format!("the model's {params} f32 weights as a finite class: 32 P log 2"))
        }
    };
    let kinds = NumberKinds {
        c_cov: "exact (enumerated pi_base; certified unless uncertified_prompts > 0)".into(),
        bon_n: "exact (from each prompt's pi_base(y*_gamma))".into(),
        sft: format!("measured: one SFT run per (N, n), seed {}, {} steps, evaluated exactly", p.seed, p.sft_steps),
        thm41: "upper bound with c = 1".into(),
        thm31: "lower bound with c = 1, for the worst class with this C_cov".into(),
    };
    progress(runs, runs);
    Ok(ComplexityReport {
        prompts: eval.len(),
        gamma: p.gamma,
        c_cov,
        c_cov_gamma,
        exact: uncertified == 0,
        uncertified_prompts: uncertified,
        rows: rows(&p_gamma, &sft, p, c_cov_gamma, log_class),
        per_prompt,
        sft,
        constant_c: 1.0,
        log_class,
        log_class_source,
        rho: p.rho,
        kinds,
    })
}
