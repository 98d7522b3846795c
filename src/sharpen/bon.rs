//! Inference-time sharpening: best-of-N (arXiv 2412.01951: best-of-N with the
//! Eq. 2 self-reward, and the rewards of its experiments).
//!
//! For each prompt we draw `max(N)` samples once, from the distribution `q`
//! that the sampling settings give (`q = pi_base` at temperature 1 without
//! top-k or top-p). For each `N` in the list the samples are split into
//! `max(N) / N` disjoint groups of `N`; each group is one best-of-N trial, so
//! small `N` are averaged over many trials. Per self-reward we report the
//! oracle accuracy of the selected answers (an estimate, with a 95% interval)
//! and how often they are `y* = argmax pi_base`, beside pass@N (some answer in
//! the group is correct: the oracle's coverage), a single sample, greedy
//! decoding, and the theory: with the log-likelihood reward (Eq. 2) and a
//! unique argmax, best-of-N returns `y*` exactly when `y*` is among the `N`
//! samples, so `P[BoN = y*] = 1 - (1 - q(y*|x))^N` — computed from the exact
//! `q` (temperature and per-token truncation keep `q` a product of per-token
//! distributions, so it is enumerated like `pi_base`), with `pi_base`'s
//! `1 - (1 - pi_base(y*|x))^N` beside it.

use serde::{Deserialize, Serialize};

use super::exact::{enumerate, enumerate_sampled, Distribution};
use super::metrics::{bon_theory, coverage, mean, wilson_interval};
use crate::error::{param_err, Error, Result};
use crate::model::Model;
use crate::reward::{judge, select, Judged, Reward};
use crate::rng::Stream;
use crate::decode::{block_on, on_cpu, Decode};
use crate::sample::{sample_on, SampleSettings};
use crate::tasks::{is_correct, Problem, Task};

/// Parameters of a best-of-N sweep.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BonParams {
    pub n: Vec<usize>,
    pub prompts: usize,
    pub rewards: Vec<Reward>,
    pub sampling: SampleSettings,
    pub seed: u64,
    /// Probability below which enumeration stops expanding an answer prefix.
    pub threshold: f64,
}

impl Default for BonParams {
    fn default() -> Self {
        Self {
            n: vec![1, 4, 16, 64],
            prompts: 100,
            rewards: Reward::ALL.to_vec(),
            sampling: SampleSettings::default(),
            seed: 0,
            threshold: 1e-5,
        }
    }
}

impl BonParams {
    pub fn validate(&self) -> Result<()> {
        self.sampling.validate()?;
        if self.n.is_empty() || self.n.iter().any(|&n| n == 0 || n > 1024) {
            return param_err("each N must be in 1..=1024");
        }
        if self.prompts == 0 || self.prompts > 100_000 {
            return param_err(format!("number of prompts {} must be in 1..=100000", self.prompts));
        }
        if self.rewards.is_empty() {
            return param_err("choose at least one reward");
        }
        Ok(())
    }
}

/// One best-of-N result: a value of N and one self-reward.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BonRow {
    pub n: usize,
    pub reward: Reward,
    /// Share of BoN selections the oracle accepts (estimate over `trials`).
    pub accuracy: f64,
    /// 95% Wilson interval of `accuracy` (the prompt set fixed; trials of one
    /// row are independent given their prompts).
    pub accuracy_ci: [f64; 2],
    /// The same on marked prompts only (None if the prompt set has none).
    pub accuracy_marked: Option<f64>,
    /// Share of BoN selections equal to the base model's `y*` (estimate over
    /// `trials`; for free text `y*` is itself estimated).
    pub y_star_rate: f64,
    /// Theoretical `P[BoN = y*] = 1 - (1 - q(y*))^N` of the log-likelihood
    /// reward, `q` the distribution actually sampled, mean over prompts
    /// (exact). None for free-text answers, where it has no meaning.
    pub y_star_theory: Option<f64>,
    /// The same with `pi_base(y*)` in place of `q(y*)` (what sampling at
    /// temperature 1 without truncation would give; exact). None for free text.
    pub y_star_theory_base: Option<f64>,
    /// Share of groups containing a correct answer (oracle coverage).
    pub pass_at_n: f64,
    /// Number of BoN trials (prompts x groups per prompt).
    pub trials: usize,
}

/// A whole sweep, with the references.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BonReport {
    pub rows: Vec<BonRow>,
    pub prompts: usize,
    pub marked_prompts: usize,
    /// Accuracy of greedy decoding (deterministic).
    pub greedy_accuracy: f64,
    /// Share of greedy answers equal to `y*` (greedy is only a token-level heuristic).
    pub greedy_is_y_star: f64,
    /// Probability that one sample (from `q`, the distribution sampled) is
    /// correct, mean over prompts: exact for enumerated answers; for free text
    /// the share of all samples the oracle accepts (an estimate over
    /// `sample_accuracy_samples`, interval in `sample_accuracy_ci`).
    pub sample_accuracy: f64,
    /// 95% Wilson interval of `sample_accuracy` (free text only).
    pub sample_accuracy_ci: Option<[f64; 2]>,
    /// Samples behind `sample_accuracy` (free text; 0 when exact).
    pub sample_accuracy_samples: usize,
    /// The same probability under `pi_base` itself (exact; None for free text).
    pub sample_accuracy_base: Option<f64>,
    /// Share of prompts whose `y*` is correct (the ceiling of loglik BoN).
    pub y_star_accuracy: f64,
    /// Mean `pi_base(y*|x)`: exact for enumerated answers; for free text a
    /// lower bound (the most likely sample has at most `pi_base(y*)`).
    pub p_star: f64,
    /// Mean `q(y*|x)` under the distribution sampled (exact; None for free text).
    pub q_star: Option<f64>,
    /// Whether the samples come from `pi_base` itself (temperature 1, no
    /// top-k or top-p), so `q = pi_base`.
    pub q_is_base: bool,
    /// `C_cov` over the prompt set (Eq. 6): exact for enumerated answers; for
    /// free text an upper bound (from the lower bounds on `pi_base(y*)`).
    pub c_cov: f64,
    /// Largest unlisted mass of any prompt's enumeration.
    pub max_leftover: f64,
    /// Prompts whose `y*` is not certified: the enumeration's unlisted mass is
    /// at least `pi_base(y*)`, so an unlisted answer might be more likely.
    pub uncertified_prompts: usize,
    /// Each prompt's base-model facts, in sampling order.
    pub per_prompt: Vec<PromptFacts>,
    /// Free text: the share of all samples cut off at the token budget
    /// (counted, so exact for these samples); None for enumerable tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cut_off: Option<f64>,
    /// True when the answer distributions were enumerated (built-in tasks):
    /// `y*`, `p_star`, `c_cov`, theory and `sample_accuracy` are exact.
    /// False for free-text prompt sets: `y*` is the most likely of the
    /// `max(N)` samples (its probability is exact, its being the argmax is an
    /// estimate), `p_star` and `c_cov` are bounds, `sample_accuracy` an
    /// estimate, and there is no theory.
    pub exact: bool,
}

/// What the exact distribution says about one prompt.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PromptFacts {
    pub prompt: String,
    /// The oracle's answer.
    pub answer: String,
    pub marked: bool,
    /// The base model's most likely complete answer (None if none was listed).
    pub y_star: Option<String>,
    /// `pi_base(y*|x)` (for free text: of the most likely sample, a lower bound).
    pub p_star: f64,
    /// `q(y*|x)` under the distribution sampled (exact; None for free text).
    pub q_star: Option<f64>,
    pub y_star_correct: bool,
    /// Whether `y*` is certified as the argmax: the unlisted mass is below
    /// `pi_base(y*)` (always false for free text).
    pub certified: bool,
}

/// A sweep's report plus every judged sample (for per-sample exports; not in
/// the JSON report, which stays small).
pub struct BonRun {
    pub report: BonReport,
    /// `samples[i]` = the `max(N)` judged samples of prompt `i`.
    pub samples: Vec<Vec<Judged>>,
}

/// The most likely complete sample as a one-answer "distribution" (for
/// prompt sets whose answers cannot be enumerated).
fn most_likely_sample(js: &[Judged]) -> Distribution {
    use crate::sharpen::exact::Answer;
    let best = js.iter().filter(|j| j.complete).max_by(|a, b| a.logp_base.total_cmp(&b.logp_base));
    match best {
        Some(b) => Distribution { answers: vec![Answer { tokens: b.tokens.clone(), logp: b.logp_base }], leftover: 1.0 - b.logp_base.exp() },
        None => Distribution { answers: vec![], leftover: 1.0 },
    }
}

/// Chooses `n` distinct problems of `task` with stream `(seed, Prompts)`: all of
/// them in order when `n` covers the task, else a seeded random subset.
pub fn choose_problems(task: &dyn Task, n: usize, seed: u64) -> Vec<Problem> {
    let all: Vec<usize> = (0..task.num_problems()).collect();
    crate::tasks::split::choose_from(&all, n, seed).into_iter().map(|i| task.problem(i)).collect()
}

/// Progress callback: `(done, total)`; return `false` to cancel.
pub type Progress<'a> = &'a mut dyn FnMut(usize, usize) -> bool;

pub fn run_bon(model: &Model, task: &dyn Task, p: &BonParams, progress: Progress) -> Result<BonReport> {
    run_bon_full(model, task, p, progress).map(|r| r.report)
}

/// [`run_bon`], keeping every judged sample.
pub fn run_bon_full(model: &Model, task: &dyn Task, p: &BonParams, progress: Progress) -> Result<BonRun> {
    block_on(run_bon_on(model, task, p, progress, &mut *on_cpu(&model.llama)))
}

/// [`run_bon_full`] with the answers (and greedy answers) drawn through
/// `dec` (the CPU path, or the GPU path: `sharpen bon --backend gpu`, the
/// page's WebGPU), which also scores self-verification; the exact
/// distributions (built-in tasks) stay on the CPU.
pub async fn run_bon_on(model: &Model, task: &dyn Task, p: &BonParams, progress: Progress<'_>, dec: &mut dyn Decode) -> Result<BonRun> {
    let plan = bon_plan(model, task, p)?;
    let eos = model.tok.eos;
    let mut judged: Vec<Vec<Judged>> = Vec::with_capacity(plan.problems.len());
    let mut greedy = Vec::with_capacity(plan.problems.len());
    let greedy_settings = plan.greedy_settings(p);
    for (i, (q, ids)) in plan.problems.iter().zip(&plan.prompt_ids).enumerate() {
        if !progress(i, plan.problems.len()) {
            return Err(Error::Cancelled);
        }
        let s = sample_on(dec, ids, eos, &p.sampling, p.seed, &Stream::samples(i as u64, plan.n_max)).await?;
        judged.push(judge(model, task, q, &s, plan.with_verify, dec).await?);
        let g = sample_on(dec, ids, eos, &greedy_settings, p.seed, &Stream::samples(i as u64, 1)).await?;
        greedy.push(judge(model, task, q, &g, false, dec).await?.remove(0));
    }
    progress(plan.problems.len(), plan.problems.len());
    bon_report(model, task, p, plan, judged, greedy)
}

/// A sweep prepared before sampling: its prompts (prompt `i` samples with
/// RNG stream `i`) and, for built-in tasks, their exact answer distributions.
struct BonPlan {
    problems: Vec<Problem>,
    prompt_ids: Vec<Vec<u32>>,
    /// Answers sampled per prompt (the largest N).
    n_max: usize,
    /// Whether the self-verification reward is asked for.
    with_verify: bool,
    exact: bool,
    dists: Vec<Distribution>,
    /// `q`, the distribution the sampling settings draw from, when it is not
    /// `pi_base` itself (built-in tasks only).
    sampled: Option<Vec<Distribution>>,
}

impl BonPlan {
    /// The greedy answer's settings (same length limit as the samples).
    fn greedy_settings(&self, p: &BonParams) -> SampleSettings {
        SampleSettings::greedy(p.sampling.max_new_tokens)
    }
}

/// Checks the parameters and prepares the sweep.
fn bon_plan(model: &Model, task: &dyn Task, p: &BonParams) -> Result<BonPlan> {
    p.validate()?;
    let problems = choose_problems(task, p.prompts, p.seed);
    let n_max = *p.n.iter().max().unwrap();
    let with_verify = p.rewards.contains(&Reward::SelfVerify);
    let prompt_ids = problems.iter().map(|q| model.tok.encode_prompt(&q.prompt)).collect::<Result<Vec<_>>>()?;
    let exact = task.enumerable();
    let (eos, max) = (model.tok.eos, task.max_answer_tokens());
    let dists = if exact { enumerate(&model.llama, &prompt_ids, eos, max, p.threshold)? } else { vec![] };
    let q_is_base = p.sampling.is_untruncated_t1() && p.sampling.max_new_tokens > max;
    let sampled = if exact && !q_is_base { Some(enumerate_sampled(&model.llama, &prompt_ids, eos, max, p.threshold, &p.sampling)?) } else { None };
    Ok(BonPlan { problems, prompt_ids, n_max, with_verify, exact, dists, sampled })
}

/// The sweep's report from every prompt's `n_max` judged samples and its
/// judged greedy answer.
fn bon_report(model: &Model, task: &dyn Task, p: &BonParams, plan: BonPlan, judged: Vec<Vec<Judged>>, greedy: Vec<Judged>) -> Result<BonRun> {
    let BonPlan { problems, n_max, exact, mut dists, sampled, .. } = plan;
    if judged.len() != problems.len() || greedy.len() != problems.len() {
        return Err(Error::Other(format!("{} prompts, {} judged groups, {} greedy answers", problems.len(), judged.len(), greedy.len())));
    }
    if !exact {
        dists = judged.iter().map(|js| most_likely_sample(js)).collect();
    }

    let p_star: Vec<f64> = dists.iter().map(|d| d.y_star().map_or(0.0, |a| a.logp.exp())).collect();
    let y_star: Vec<Option<&Vec<u32>>> = dists.iter().map(|d| d.y_star().map(|a| &a.tokens)).collect();
    // q(y*): from the sampled distribution, or pi_base's own when q = pi_base.
    let q_star: Option<Vec<f64>> = exact.then(|| match &sampled {
        Some(q) => q.iter().zip(&y_star).map(|(d, y)| y.map_or(0.0, |t| d.prob(t))).collect(),
        None => p_star.clone(),
    });
    let theory = |ps: &[f64], n: usize| mean(&ps.iter().map(|&q| bon_theory(q, n)).collect::<Vec<_>>());
    let is_y_star = |i: usize, toks: &Vec<u32>| y_star[i] == Some(toks);
    let mut rows = Vec::new();
    for &n in &p.n {
        let groups = n_max / n;
        for &r in &p.rewards {
            let (mut acc, mut acc_m, mut ys, mut pass) = (vec![], vec![], vec![], vec![]);
            for (i, js) in judged.iter().enumerate() {
                for g in 0..groups {
                    let group = &js[g * n..(g + 1) * n];
                    let pick = &group[select(r, group)];
                    acc.push(f64::from(u8::from(pick.correct)));
                    if problems[i].marked {
                        acc_m.push(f64::from(u8::from(pick.correct)));
                    }
                    ys.push(f64::from(u8::from(is_y_star(i, &pick.tokens))));
                    pass.push(f64::from(u8::from(group.iter().any(|j| j.correct))));
                }
            }
            let right = acc.iter().filter(|&&a| a > 0.5).count();
            rows.push(BonRow {
                n,
                reward: r,
                accuracy: mean(&acc),
                accuracy_ci: wilson_interval(right, acc.len()),
                accuracy_marked: (!acc_m.is_empty()).then(|| mean(&acc_m)),
                y_star_rate: mean(&ys),
                y_star_theory: q_star.as_ref().map(|q| theory(q, n)),
                y_star_theory_base: exact.then(|| theory(&p_star, n)),
                pass_at_n: mean(&pass),
                trials: acc.len(),
            });
        }
    }
    let correct_mass_of = |ds: &[Distribution]| -> Vec<f64> {
        problems.iter().zip(ds).map(|(q, d)| d.mass_where(|t| is_correct(&model.tok, task, q, t))).collect()
    };
    let all_samples = judged.iter().map(Vec::len).sum::<usize>();
    let right_samples = judged.iter().flatten().filter(|j| j.correct).count();
    let (sample_accuracy, sample_accuracy_ci, sample_accuracy_samples, sample_accuracy_base) = if exact {
        let base = mean(&correct_mass_of(&dists));
        (sampled.as_deref().map_or(base, |q| mean(&correct_mass_of(q))), None, 0, Some(base))
    } else {
        // Every prompt has the same number of samples, so the pooled share is
        // the mean over prompts of each prompt's share.
        (right_samples as f64 / all_samples.max(1) as f64, Some(wilson_interval(right_samples, all_samples)), all_samples, None)
    };
    let ystar_ok: Vec<f64> = problems
        .iter()
        .zip(&y_star)
        .map(|(q, y)| f64::from(u8::from(y.is_some_and(|t| is_correct(&model.tok, task, q, t)))))
        .collect();
    let per_prompt: Vec<PromptFacts> = problems
        .iter()
        .zip(&dists)
        .zip(&ystar_ok)
        .enumerate()
        .map(|(i, ((q, d), &ok))| PromptFacts {
            prompt: q.prompt.clone(),
            answer: q.answer.clone(),
            marked: q.marked,
            y_star: d.y_star().map(|a| model.tok.decode(&a.tokens).unwrap_or_default()),
            p_star: p_star[i],
            q_star: q_star.as_ref().map(|q| q[i]),
            y_star_correct: ok > 0.5,
            certified: exact && d.certifies_y_star(),
        })
        .collect();
    let report = BonReport {
        rows,
        prompts: problems.len(),
        marked_prompts: problems.iter().filter(|q| q.marked).count(),
        greedy_accuracy: mean(&greedy.iter().map(|g| f64::from(u8::from(g.correct))).collect::<Vec<_>>()),
        greedy_is_y_star: mean(&greedy.iter().enumerate().map(|(i, g)| f64::from(u8::from(g.complete && is_y_star(i, &g.tokens)))).collect::<Vec<_>>()),
        sample_accuracy,
        sample_accuracy_ci,
        sample_accuracy_samples,
        sample_accuracy_base,
        y_star_accuracy: mean(&ystar_ok),
        p_star: mean(&p_star),
        q_star: q_star.as_ref().map(|q| mean(q)),
        q_is_base: sampled.is_none() && p.sampling.is_untruncated_t1(),
        c_cov: coverage(&p_star),
        max_leftover: if exact { dists.iter().map(|d| d.leftover).fold(0.0, f64::max) } else { f64::NAN },
        uncertified_prompts: if exact { per_prompt.iter().filter(|f| !f.certified).count() } else { 0 },
        per_prompt,
        cut_off: (!exact).then(|| judged.iter().flatten().filter(|j| !j.complete).count() as f64 / all_samples.max(1) as f64),
        exact,
    };
    Ok(BonRun { report, samples: judged })
}
