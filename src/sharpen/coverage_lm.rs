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
//!   by `fit_steps` Adam steps, each on `batch` triples drawn uniformly from
//!   all of `D` (the network cannot be minimised exactly). The curve shows
//!   each round's iterate: the paper returns the best round by an estimate
//!   of `J_beta`, which needs the full answer distribution;
//! * `rlhf_online_onestep`: the lab's one-step variant (fresh triples each
//!   round, one Adam step on them, nothing kept), as `sharpen rlhf --online`.
//!
//! Every fit starts from the base model with a fresh Adam (cosine-decayed
//! rate) except the online runs, which keep training one model. `pi(y*)` of
//! every model is exact (`y*` from the base model's enumerated
//! distribution, its probability scored directly); each curve is one run.

use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use serde::{Deserialize, Serialize};

use super::bon::{choose_problems, Progress};
use super::closed_form::closed_form;
use super::complexity::{bon_needed, thm41};
use super::coverage::{CurvePoint, MethodCurve};
use super::eval::Baseline;
use super::metrics::{coverage, mean, sharpened_fraction};
use super::rlhf::eq8_loss;
use super::train_step::{check_training, cosine_lr, nll_loss, seq_logprobs, step_at, Batches, Example};
use crate::error::{check, param_err, Error, Result};
use crate::model::{Llama, Model};
use crate::rng::{CoverageSide, Rng, Stream};
use crate::sample::{sample_batch, SampleSettings};
use crate::score::{score, Scored};
use crate::tasks::Task;

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
    /// Adam steps of each fit (each round's refit for Alg. 1).
    pub fit_steps: usize,
    /// Examples (SFT) or triples (RLHF) per Adam step.
    pub batch: usize,
    pub lr: f64,
    /// Enumeration threshold of the base model's distribution (for `y*`).
    pub threshold: f64,
    pub seed: u64,
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
            alphas: vec![0.0, 0.01, 0.1],
            fit_steps: 20,
            batch: 32,
            lr: 1e-3,
            threshold: 1e-4,
            seed: 0,
        }
    }
}

impl LmCoverageParams {
    pub fn validate(&self) -> Result<()> {
        let checks = [
            (self.prompts == 0 || self.prompts > 256, "prompts must be in 1..=256"),
            (!(self.beta.is_finite() && (0.001..=10.0).contains(&self.beta)), "beta must be in 0.001..=10"),
            (!(self.eps > 0.0 && self.eps < 1.0), "eps must be strictly between 0 and 1"),
            (self.budgets.is_empty() || self.budgets.len() > 8 || self.budgets.iter().any(|&m| !(2..=256).contains(&m)), "budgets: 1 to 8 samples-per-prompt counts, each in 2..=256"),
            (self.sft_n.len() > 6 || self.sft_n.iter().any(|&n| n == 0 || n > 256), "SFT N: at most 6 values, each in 1..=256"),
            (self.alphas.len() > 6 || self.alphas.iter().any(|a| !(a.is_finite() && (0.0..=10.0).contains(a))), "alphas: at most 6 values, each in 0..=10"),
            (self.fit_steps == 0 || self.fit_steps > 1000, "fit steps must be in 1..=1000"),
            (self.batch == 0 || self.batch > 512, "batch must be in 1..=512"),
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
    /// `pi(y*)` and the sharpened share of every model are exact; each
    /// curve is one run (one draw of the samples).
    pub exact: bool,
    /// `C_cov` of the prompts (Eq. 6, exact).
    pub c_cov: f64,
    /// Mean `pi_base(y*)` (exact).
    pub p_star_base: f64,
    /// Mean `pi*_beta(y*)` of the closed form and its sharpened share (exact
    /// over the listed answers).
    pub p_star_closed_form: f64,
    pub sharpened_closed_form: f64,
    /// Samples (all prompts) best-of-N needs to put `1 - delta` on every
    /// prompt's `y*` (exact, from each `pi_base(y*)`).
    pub bon_samples: usize,
    /// Thm 4.1's `N = C_cov log(2/delta) / eps` per prompt, times the prompts (c = 1).
    pub thm41_samples: f64,
    /// Prompts whose `y*` the base enumeration does not certify.
    pub uncertified_prompts: usize,
    pub max_leftover: f64,
    pub methods: Vec<MethodCurve>,
}

struct Ctx<'a> {
    base: &'a Model,
    bl: Baseline,
    /// `y*` of each prompt, `</s>` appended.
    stars: Vec<Vec<u32>>,
    sampling: SampleSettings,
    p: &'a LmCoverageParams,
}

/// A triple of Alg. 1 (`y`, `y'` with their `log pi_base`).
#[derive(Clone)]
struct Triple {
    y: Example,
    y2: Example,
    lb_y: f64,
    lb_y2: f64,
}

impl Ctx<'_> {
    fn point(&self, model: &Llama, base: usize, policy: usize) -> Result<CurvePoint> {
        let items: Vec<Scored> = self.bl.prompt_ids.iter().zip(&self.stars).map(|(p, c)| Scored { prompt: p, continuation: c }).collect();
        let ps: Vec<f64> = score(model, &items)?.into_iter().map(f64::exp).collect();
        Ok(CurvePoint {
            samples: base + policy,
            samples_base: base,
            samples_policy: policy,
            p_star: mean(&ps),
            sharpened: sharpened_fraction(&ps, self.p.delta),
            objective: None,
            support: None,
        })
    }

    /// [`Ctx::point`] with the mean mass `model` puts on every answer the
    /// base model lists (scored directly), for a curve's last point.
    fn last_point(&self, model: &Llama, base: usize, policy: usize) -> Result<CurvePoint> {
        let eos = self.base.tok.eos;
        let conts: Vec<(usize, Vec<u32>)> =
            self.bl.dists.iter().enumerate().flat_map(|(i, d)| d.answers.iter().map(move |a| (i, [a.tokens.as_slice(), &[eos]].concat()))).collect();
        let items: Vec<Scored> = conts.iter().map(|(i, c)| Scored { prompt: &self.bl.prompt_ids[*i], continuation: c }).collect();
        let mut mass = vec![0.0; self.bl.problems.len()];
        for ((i, _), lp) in conts.iter().zip(score(model, &items)?) {
            mass[*i] += lp.exp();
        }
        Ok(CurvePoint { support: Some(mean(&mass)), ..self.point(model, base, policy)? })
    }

    /// Answers to prompt `i`, one per draw, from `model`, as examples with
    /// their `log` probability under the model that drew them (None: cut off).
    fn draw(&self, model: &Llama, run: u64, i: usize, draws: std::ops::Range<u64>, side: CoverageSide) -> Result<Vec<Option<(Example, f64)>>> {
        let streams: Vec<Stream> = draws.map(|draw| Stream::Coverage { run, prompt: i as u64, draw, side }).collect();
        let ids = &self.bl.prompt_ids[i];
        let eos = self.base.tok.eos;
        Ok(sample_batch(model, ids, eos, &self.sampling, self.p.seed, &streams)?
            .into_iter()
            .map(|s| s.complete.then(|| (Example { prompt: ids.clone(), target: [s.tokens.as_slice(), &[eos]].concat() }, s.logp)))
            .collect())
    }

    fn fresh(&self) -> Result<(crate::model::bundle::Trainable, AdamW)> {
        let tr = self.base.trainable_copy()?;
        let opt = AdamW::new(tr.sorted_vars(), ParamsAdamW { lr: self.p.lr, weight_decay: 0.0, ..Default::default() })?;
        Ok((tr, opt))
    }

    /// SFT-Sharpening with `n` samples per prompt at each budget.
    fn sft(&self, n: usize, run: u64) -> Result<Vec<CurvePoint>> {
        let mut out = Vec::new();
        for &m in self.p.budgets.iter().filter(|&&m| m >= n) {
            let groups = (m / n) as u64;
            let mut data = Vec::new();
            for i in 0..self.bl.problems.len() {
                for g in 0..groups {
                    let drawn = self.draw(&self.base.llama, run, i, g * n as u64..(g + 1) * n as u64, CoverageSide::Base)?;
                    // The winner by log pi_base (Eq. 2); a cut-off sample never wins.
                    if let Some((ex, _)) = drawn.into_iter().flatten().max_by(|a, b| a.1.total_cmp(&b.1)) {
                        data.push(ex);
                    }
                }
            }
            let (tr, mut opt) = self.fresh()?;
            if !data.is_empty() {
                let vars = tr.sorted_vars();
                let mut batches = Batches::new(self.p.seed);
                for s in 1..=self.p.fit_steps {
                    opt.set_learning_rate(cosine_lr(self.p.lr, s, self.p.fit_steps));
                    let loss = nll_loss(&tr.train, &batches.next(&data, self.p.batch)?)?;
                    step_at(s, &mut opt, &vars, &loss, 1.0)?;
                }
            }
            let last = self.p.budgets.last() == Some(&m);
            let at = if last { Self::last_point } else { Self::point };
            out.push(at(self, &tr.view, groups as usize * n * self.bl.problems.len(), 0)?);
        }
        Ok(out)
    }

    /// `fit_steps` Adam steps on the Eq. 8 loss (with optimism `alpha`), each
    /// on `batch` triples drawn uniformly from `data` (stream `draw0 + k`).
    fn fit_pairs(&self, tr: &crate::model::bundle::Trainable, data: &[Triple], alpha: f64, run: u64, draw0: u64) -> Result<()> {
        let vars = tr.sorted_vars();
        let mut opt = AdamW::new(vars.clone(), ParamsAdamW { lr: self.p.lr, weight_decay: 0.0, ..Default::default() })?;
        for s in 1..=self.p.fit_steps {
            let mut rng = Rng::new(self.p.seed, Stream::Coverage { run, prompt: 0, draw: draw0 + s as u64, side: CoverageSide::Batch })?;
            let pick: Vec<&Triple> = if data.len() <= self.p.batch {
                data.iter().collect()
            } else {
                (0..self.p.batch).map(|_| &data[rng.below(data.len() as u64) as usize]).collect()
            };
            opt.set_learning_rate(cosine_lr(self.p.lr, s, self.p.fit_steps));
            self.pair_step(tr, &mut opt, &pick, alpha, s)?;
        }
        Ok(())
    }

    fn pair_step(&self, tr: &crate::model::bundle::Trainable, opt: &mut AdamW, pick: &[&Triple], alpha: f64, s: usize) -> Result<()> {
        let both: Vec<Example> = pick.iter().map(|t| t.y.clone()).chain(pick.iter().map(|t| t.y2.clone())).collect();
        let lp = seq_logprobs(&tr.train, &both)?;
        let n = pick.len();
        let lb_y: Vec<f64> = pick.iter().map(|t| t.lb_y).collect();
        let lb_y2: Vec<f64> = pick.iter().map(|t| t.lb_y2).collect();
        let loss = eq8_loss(&lp.narrow(0, 0, n)?, &lp.narrow(0, n, n)?, &lb_y, &lb_y2, self.p.beta, alpha)?;
        step_at(s, opt, &tr.sorted_vars(), &loss, 1.0)?;
        Ok(())
    }

    /// Eq. 8 on pairs from `pi_base` at each budget.
    fn offline(&self, run: u64) -> Result<Vec<CurvePoint>> {
        let mut out = Vec::new();
        for &m in &self.p.budgets {
            let pairs = (m / 2) as u64;
            let mut data = Vec::new();
            for i in 0..self.bl.problems.len() {
                let d = self.draw(&self.base.llama, run, i, 0..2 * pairs, CoverageSide::Base)?;
                for two in d.chunks(2) {
                    if let [Some((y, lb_y)), Some((y2, lb_y2))] = two {
                        data.push(Triple { y: y.clone(), y2: y2.clone(), lb_y: *lb_y, lb_y2: *lb_y2 });
                    }
                }
            }
            let tr = self.base.trainable_copy()?;
            if !data.is_empty() {
                self.fit_pairs(&tr, &data, 0.0, run, 0)?;
            }
            let at = if self.p.budgets.last() == Some(&m) { Self::last_point } else { Self::point };
            out.push(at(self, &tr.view, 2 * pairs as usize * self.bl.problems.len(), 0)?);
        }
        Ok(out)
    }

    /// Alg. 1 (`onestep`: the one-step variant) with optimism `alpha`.
    fn online(&self, alpha: f64, onestep: bool, run: u64) -> Result<Vec<CurvePoint>> {
        let rounds = *self.p.budgets.iter().max().expect("validated") / 2;
        let (tr, mut opt) = self.fresh()?;
        let mut data: Vec<Triple> = Vec::new();
        let mut out = Vec::new();
        let prompts = self.bl.problems.len();
        for t in 1..=rounds {
            let mut fresh = Vec::new();
            for i in 0..prompts {
                let y = self.draw(&tr.view, run, i, t as u64..t as u64 + 1, CoverageSide::Policy)?.remove(0);
                let y2 = self.draw(&self.base.llama, run, i, t as u64..t as u64 + 1, CoverageSide::Base)?.remove(0);
                if let (Some((y, _)), Some((y2, lb_y2))) = (y, y2) {
                    // r(y) = log pi_base(y), scored by the frozen base model.
                    let lb_y = score(&self.base.llama, &[Scored { prompt: &y.prompt, continuation: &y.target }])?[0];
                    fresh.push(Triple { y, y2, lb_y, lb_y2 });
                }
            }
            if onestep {
                if !fresh.is_empty() {
                    opt.set_learning_rate(cosine_lr(self.p.lr, t, rounds));
                    self.pair_step(&tr, &mut opt, &fresh.iter().collect::<Vec<_>>(), alpha, t)?;
                }
            } else {
                data.extend(fresh);
                if !data.is_empty() {
                    self.fit_pairs(&tr, &data, alpha, run, (t * self.p.fit_steps) as u64)?;
                }
            }
            if self.p.budgets.contains(&(2 * t)) {
                let at = if t == rounds { Self::last_point } else { Self::point };
                out.push(at(self, &tr.view, t * prompts, t * prompts)?);
            }
        }
        Ok(out)
    }
}

pub fn run_coverage_lm(base: &Model, task: &dyn Task, p: &LmCoverageParams, progress: Progress) -> Result<LmCoverageReport> {
    p.validate()?;
    crate::tasks::require_enumerable(task, "the coverage experiment")?;
    if p.prompts > task.num_problems() {
        return param_err(format!("{} has {} prompts; ask for at most that many", task.name(), task.num_problems()));
    }
    let mut budgets = p.budgets.clone();
    budgets.sort_unstable();
    budgets.dedup();
    let p = &LmCoverageParams { budgets, ..p.clone() };
    let bl = Baseline::from_problems(base, task, choose_problems(task, p.prompts, p.seed), p.threshold)?;
    let eos = base.tok.eos;
    let stars: Vec<Vec<u32>> = bl.dists.iter().map(|d| d.y_star().map(|a| [a.tokens.as_slice(), &[eos]].concat()).unwrap_or_else(|| vec![eos])).collect();
    let sampling = SampleSettings { max_new_tokens: task.max_answer_tokens() + 1, ..SampleSettings::default() };
    let cx = Ctx { base, bl, stars, sampling, p };
    let total = p.sft_n.len() + 1 + 2 * p.alphas.len();
    let mut methods: Vec<MethodCurve> = Vec::new();
    let mut push = |methods: &mut Vec<MethodCurve>, m: MethodCurve| {
        methods.push(m);
        if progress(methods.len(), total) { Ok(methods.len() as u64) } else { Err(Error::Cancelled) }
    };
    let mut run = 0;
    for &n in &p.sft_n {
        let c = cx.sft(n, run)?;
        run = push(&mut methods, MethodCurve { method: "sft".into(), n: Some(n), alpha: None, curve: c })?;
    }
    let c = cx.offline(run)?;
    run = push(&mut methods, MethodCurve { method: "rlhf_offline".into(), n: None, alpha: None, curve: c })?;
    for &a in &p.alphas {
        let c = cx.online(a, false, run)?;
        run = push(&mut methods, MethodCurve { method: "rlhf_online".into(), n: None, alpha: Some(a), curve: c })?;
        let c = cx.online(a, true, run)?;
        run = push(&mut methods, MethodCurve { method: "rlhf_online_onestep".into(), n: None, alpha: Some(a), curve: c })?;
    }
    let p_base: Vec<f64> = cx.bl.dists.iter().map(|d| d.y_star().map_or(0.0, |a| a.logp.exp())).collect();
    let p_cf: Vec<f64> = cx.bl.dists.iter().map(|d| closed_form(d, p.beta).y_star().map_or(0.0, |a| a.logp.exp())).collect();
    let c_cov = coverage(&p_base);
    Ok(LmCoverageReport {
        task: task.name().to_string(),
        prompts: cx.bl.problems.len(),
        beta: p.beta,
        delta: p.delta,
        eps: p.eps,
        exact: true,
        c_cov,
        p_star_base: mean(&p_base),
        p_star_closed_form: mean(&p_cf),
        sharpened_closed_form: sharpened_fraction(&p_cf, p.delta),
        bon_samples: p_base.iter().map(|&x| bon_needed(x, p.delta)).sum(),
        thm41_samples: thm41(c_cov, 0.0, 1.0, p.eps, p.delta).0 * cx.bl.problems.len() as f64,
        uncertified_prompts: cx.bl.uncertified(),
        max_leftover: cx.bl.max_leftover(),
        methods,
    })
}
