//! SFT-Sharpening (arXiv 2412.01951, Thm 4.1): build the
//! best-of-N dataset `{(x_i, y_i^BoN)}` from `pi_base` with a chosen self-reward,
//! then maximise `sum_i log pi(y_i^BoN | x_i)` starting from `pi_base`, with
//! AdamW on a copy of the model while the frozen base model keeps scoring. The
//! learning rate decays from `lr` to 0 on a cosine schedule (`cosine_lr`): with
//! a constant rate the run sat at the edge of stability once the loss was
//! near 0 (a page run spiked where the CLI did not).
//!
//! After every `eval_every` steps (and at step 0, before any update) the current
//! model's answer distribution is enumerated exactly on the training prompts and
//! we report `pi(y*)` (the base model's argmax), the sharpened share (Def. 3.1),
//! the probability that a sample is correct, `E_pi[log pi_base(y|x)]`, the
//! entropy and `KL(pi || pi_base)` — all exact over the listed answers.

use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use serde::{Deserialize, Serialize};

use super::bon::Progress;
pub use super::eval::{StepMetrics, WrongMode};
use super::eval::{evaluate, Baseline, Target};
use super::metrics::mean;
use super::train_step::{check_training, cosine_lr, nll_loss, step_at, Batches, Example};
use crate::error::{check, param_err, Error, Result};
use crate::model::{Llama, Model};
use crate::reward::{judge, select, Judged, Reward};
use crate::rng::Stream;
use crate::sample::{sample_batch, SampleSettings};
use crate::tasks::{Problem, Task};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SftParams {
    /// Number of prompts `n` in the best-of-N dataset.
    pub prompts: usize,
    /// Samples per prompt `N`.
    pub n: usize,
    pub reward: Reward,
    pub steps: usize,
    pub lr: f64,
    pub batch: usize,
    /// Global gradient-norm clip (0 = off).
    pub clip: f64,
    pub weight_decay: f64,
    /// `delta` of Def. 3.1 for the sharpened share.
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

impl Default for SftParams {
    fn default() -> Self {
        Self {
            prompts: 64,
            n: 16,
            reward: Reward::Loglik,
            steps: 200,
            lr: 1e-3,
            batch: 16,
            clip: 1.0,
            weight_decay: 0.0,
            delta: 0.1,
            gamma: 0.0,
            eval_every: 10,
            sampling: SampleSettings::default(),
            threshold: 1e-4,
            seed: 0,
        }
    }
}

impl SftParams {
    pub fn validate(&self) -> Result<()> {
        self.sampling.validate()?;
        let checks = [
            (self.prompts == 0 || self.prompts > 10_000, "prompts must be in 1..=10000"),
            (self.n == 0 || self.n > 1024, "N must be in 1..=1024"),
            (self.steps > 100_000, "steps must be at most 100000"),
            (self.batch == 0 || self.batch > 1024, "batch must be in 1..=1024"),
            (!(self.weight_decay.is_finite() && self.weight_decay >= 0.0), "weight decay must be >= 0"),
        ];
        check(&checks)?;
        check_training(self.lr, self.clip, self.delta, self.gamma, self.eval_every)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SftReport {
    pub steps: Vec<StepMetrics>,
    pub prompts: usize,
    pub marked_prompts: usize,
    /// Prompts whose `y*` is wrong (sharpening them amplifies an error).
    pub wrong_mode_prompts: usize,
    /// Dataset: share of BoN winners the oracle accepts.
    pub dataset_accuracy: f64,
    pub dataset_size: usize,
    /// Largest unlisted mass in any enumeration.
    pub max_leftover: f64,
    /// Prompts whose `y*` the base enumeration does not certify (its unlisted
    /// mass is at least `pi_base(y*)`).
    #[serde(default)]
    pub uncertified_prompts: usize,
    /// The prompts whose `y*` is wrong, with `pi(y*)` before and after.
    pub wrong_mode: Vec<WrongMode>,
}

/// One example of the best-of-N dataset, as text.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DatasetRow {
    pub prompt: String,
    pub completion: String,
    /// Oracle verdict on the completion (not used in training).
    pub correct: bool,
}

/// A run's report, the dataset it trained on, and the trained weights' view.
pub struct SftRun {
    pub report: SftReport,
    pub dataset: Vec<DatasetRow>,
}

/// Called after each evaluation with its metrics and the current model.
pub type OnEval<'a> = &'a mut dyn FnMut(&StepMetrics, &Llama) -> Result<()>;

/// Best-of-N on one prompt: `n` answers from the RNG streams of prompt `i`,
/// judged under `base`, the one `reward` picks; and how many of the `n` were
/// cut off at the length limit.
#[allow(clippy::too_many_arguments)]
pub fn bon_pick(base: &Model, task: &dyn Task, q: &Problem, ids: &[u32], n: usize, reward: Reward, sampling: &SampleSettings, seed: u64, i: u64) -> Result<(Judged, usize)> {
    let s = sample_batch(&base.llama, ids, base.tok.eos, sampling, seed, &Stream::samples(i, n))?;
    let cut = s.iter().filter(|x| !x.complete).count();
    let mut js = crate::decode::block_on(judge(base, task, q, &s, reward == Reward::SelfVerify, &mut crate::decode::CpuDecode::new(&base.llama)))?;
    Ok((js.swap_remove(select(reward, &js)), cut))
}

/// [`bon_pick`] as a training example (`</s>` appended) with its judgement;
/// None when the pick is incomplete (cut off at the length limit).
#[allow(clippy::too_many_arguments)]
fn bon_example(
    base: &Model,
    task: &dyn Task,
    q: &Problem,
    ids: &[u32],
    n: usize,
    reward: Reward,
    sampling: &SampleSettings,
    seed: u64,
    i: usize,
) -> Result<Option<(Example, Judged)>> {
    let (w, _) = bon_pick(base, task, q, ids, n, reward, sampling, seed, i as u64)?;
    if !w.complete {
        return Ok(None);
    }
    let mut target = w.tokens.clone();
    target.push(base.tok.eos);
    Ok(Some((Example { prompt: ids.to_vec(), target }, w)))
}

pub fn run_sft(base: &Model, task: &dyn Task, p: &SftParams, progress: Progress) -> Result<SftReport> {
    run_sft_observed(base, task, p, progress, &mut |_, _| Ok(())).map(|r| r.report)
}

/// [`run_sft`], calling `on_eval` after every evaluation (step 0 included).
pub fn run_sft_observed(base: &Model, task: &dyn Task, p: &SftParams, progress: Progress, on_eval: OnEval) -> Result<SftRun> {
    p.validate()?;
    let bl = Baseline::new(base, task, p.prompts, p.seed, p.threshold)?;
    run_sft_with(base, task, bl, p, progress, on_eval)
}

/// The best-of-N dataset of `problems` (prompt `i`'s samples from its own
/// streams), its examples' oracle verdicts (1/0) and its rows as text.
fn bon_data(base: &Model, task: &dyn Task, problems: &[Problem], ids: &[Vec<u32>], p: &SftParams, progress: &mut dyn FnMut(usize) -> bool) -> Result<(Vec<Example>, Vec<f64>, Vec<DatasetRow>)> {
    let (mut data, mut data_ok, mut dataset) = (Vec::new(), Vec::new(), Vec::new());
    for (i, (q, ids)) in problems.iter().zip(ids).enumerate() {
        if !progress(i) {
            return Err(Error::Cancelled);
        }
        if let Some((example, w)) = bon_example(base, task, q, ids, p.n, p.reward, &p.sampling, p.seed, i)? {
            data.push(example);
            data_ok.push(f64::from(u8::from(w.correct)));
            dataset.push(DatasetRow { prompt: q.prompt.clone(), completion: w.text.clone(), correct: w.correct });
        }
    }
    if data.is_empty() {
        return param_err("no complete best-of-N answer to train on; raise max new tokens");
    }
    Ok((data, data_ok, dataset))
}

/// `p.steps` AdamW steps of maximum likelihood on `data` from a copy of
/// the base model (mini-batches from `Batches`, cosine-decayed rate);
/// `after(s, loss, model)` runs after each step.
fn fit(base: &Model, data: &[Example], p: &SftParams, progress: &mut dyn FnMut(usize) -> bool, after: &mut dyn FnMut(usize, f64, &Llama) -> Result<()>) -> Result<crate::model::bundle::Trainable> {
    let tr = base.trainable_copy()?;
    let vars = tr.sorted_vars();
    let params = ParamsAdamW { lr: p.lr, weight_decay: p.weight_decay, ..Default::default() };
    let mut opt = AdamW::new(vars.clone(), params)?;
    after(0, f64::NAN, &tr.view)?;
    let mut batches = Batches::new(p.seed);
    for s in 1..=p.steps {
        if !progress(s - 1) {
            return Err(Error::Cancelled);
        }
        let batch = batches.next(data, p.batch)?;
        opt.set_learning_rate(cosine_lr(p.lr, s, p.steps));
        let loss = nll_loss(&tr.train, &batch)?;
        let (l, _) = step_at(s, &mut opt, &vars, &loss, p.clip)?;
        after(s, l, &tr.view)?;
    }
    Ok(tr)
}

/// SFT-Sharpening on `problems` without any evaluation on them: the
/// trained model (the sample-complexity experiment judges it on other
/// prompts).
pub fn fit_sft_on(base: &Model, task: &dyn Task, problems: &[Problem], p: &SftParams, progress: Progress) -> Result<crate::model::bundle::Trainable> {
    p.validate()?;
    let ids = problems.iter().map(|q| base.tok.encode_prompt(&q.prompt)).collect::<Result<Vec<_>>>()?;
    let total = problems.len() + p.steps;
    let (data, _, _) = bon_data(base, task, problems, &ids, p, &mut |i| progress(i, total))?;
    fit(base, &data, p, &mut |s| progress(problems.len() + s, total), &mut |_, _, _| Ok(()))
}

fn run_sft_with(base: &Model, task: &dyn Task, bl: Baseline, p: &SftParams, progress: Progress, on_eval: OnEval) -> Result<SftRun> {
    let total_work = bl.problems.len() + p.steps;
    let (data, data_ok, dataset) = bon_data(base, task, &bl.problems, &bl.prompt_ids, p, &mut |i| progress(i, total_work))?;
    let target = Target { delta: p.delta, gamma: p.gamma };
    let (mut steps, mut last_p) = (Vec::new(), Vec::new());
    fit(base, &data, p, &mut |s| progress(bl.problems.len() + s, total_work), &mut |s, l, view| {
        if s == 0 || s % p.eval_every == 0 || s == p.steps {
            let e = evaluate(base, view, task, &bl, p.threshold, target, s, (s > 0).then_some(l), None)?;
            on_eval(&e.metrics, view)?;
            last_p = e.p_star;
            steps.push(e.metrics);
        }
        Ok(())
    })?;
    progress(total_work, total_work);
    let wrong_mode = bl.wrong_modes(base, &last_p);
    let report = SftReport {
        steps,
        prompts: bl.problems.len(),
        marked_prompts: bl.marked(),
        wrong_mode_prompts: bl.wrong_mode_count(),
        dataset_accuracy: mean(&data_ok),
        dataset_size: data.len(),
        max_leftover: bl.max_leftover(),
        uncertified_prompts: bl.uncertified(),
        wrong_mode,
    };
    Ok(SftRun { report, dataset })
}

