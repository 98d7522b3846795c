//! SFT-Sharpening on a real model with low-rank adapters (arXiv 2412.01951:
//! Thm 4.1 and its LoRA amortisation experiments; LoRA: Hu et al. 2021). The
//! base weights stay
//! frozen (dequantised f32); only the adapters `A`, `B` of every projection
//! are trained, on the best-of-N answers `{(x_i, y_i^BoN)}` chosen by a
//! self-reward, to maximise `sum_i log pi(y_i^BoN | x_i)`.
//!
//! Free-text answers cannot be enumerated, so instead of exact distributions
//! we report, before and after training: the mean `log pi(y^BoN|x)` of the
//! training answers (exact, the quantity SFT-Sharpening raises), greedy
//! accuracy (exact for the prompts) and the accuracy of `eval_samples` fresh
//! samples per prompt (an estimate).

use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarBuilder, VarMap};
use serde::{Deserialize, Serialize};

use super::bon::{choose_problems, Progress};
use super::metrics::{mean, wilson_interval};
use super::sft::bon_example;
use super::train_step::{check_training, nll_loss, seq_logprobs, step_at, Batches, Example};
use crate::error::{check, param_err, Error, Result};
use crate::model::{Llama, Model};
use crate::reward::Reward;
use crate::rng::Stream;
use crate::sample::{sample_batch, SampleSettings};
use crate::tasks::{Problem, Task};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoraParams {
    pub prompts: usize,
    /// Samples per prompt `N` for the best-of-N dataset.
    pub n: usize,
    pub reward: Reward,
    pub steps: usize,
    pub lr: f64,
    pub batch: usize,
    pub rank: usize,
    /// LoRA scale numerator: the update is `(alpha / rank) B A`.
    pub alpha: f64,
    pub clip: f64,
    /// Fresh samples per prompt for the sample-accuracy estimate (0 = skip).
    pub eval_samples: usize,
    pub sampling: SampleSettings,
    pub seed: u64,
}

impl Default for LoraParams {
    fn default() -> Self {
        Self {
            prompts: 30,
            n: 8,
            reward: Reward::LoglikNorm,
            steps: 20,
            lr: 1e-3,
            batch: 4,
            rank: 8,
            alpha: 16.0,
            clip: 1.0,
            eval_samples: 4,
            sampling: SampleSettings { max_new_tokens: 48, ..Default::default() },
            seed: 0,
        }
    }
}

impl LoraParams {
    pub fn validate(&self) -> Result<()> {
        self.sampling.validate()?;
        check_training(self.lr, self.clip, 0.5, 0.0, 1)?;
        let checks = [
            (self.prompts == 0 || self.prompts > 10_000, "prompts must be in 1..=10000"),
            (self.n == 0 || self.n > 256, "samples per prompt must be in 1..=256"),
            (self.steps > 100_000, "steps must be at most 100000"),
            (self.batch == 0 || self.batch > 256, "batch must be in 1..=256"),
            (self.rank == 0 || self.rank > 256, "LoRA rank must be in 1..=256"),
            (!(self.alpha.is_finite() && self.alpha > 0.0), "LoRA alpha must be a positive number"),
            (self.eval_samples > 64, "evaluation samples must be at most 64"),
        ];
        check(&checks)
    }
}

/// The model's behaviour on the prompts at one point of training.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoraEval {
    /// Mean `log pi(y^BoN|x)` over the training answers (exact), nats.
    pub dataset_logp: f64,
    /// Share of prompts whose greedy answer is correct (exact).
    pub greedy_accuracy: f64,
    /// Share of `eval_samples` samples per prompt that are correct (estimate;
    /// None when `eval_samples` is 0).
    pub sample_accuracy: Option<f64>,
    /// 95% Wilson interval of `sample_accuracy` over all its samples.
    #[serde(default)]
    pub sample_accuracy_ci: Option<[f64; 2]>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoraStep {
    pub step: usize,
    pub loss: f64,
    pub grad_norm: f64,
    /// Wall time of this step (forward, backward, AdamW), milliseconds.
    pub ms: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoraReport {
    pub prompts: usize,
    pub dataset_size: usize,
    /// Share of the best-of-N answers the oracle accepts.
    pub dataset_accuracy: f64,
    /// Trainable adapter weights.
    pub adapter_params: usize,
    pub before: LoraEval,
    pub after: LoraEval,
    pub steps: Vec<LoraStep>,
    /// Mean step time, milliseconds.
    pub mean_step_ms: f64,
}

/// The base model's weights with adapters over `vars`: a training model and
/// an inference view sharing the adapters.
fn adapted(base: &Model, vars: &VarMap, p: &LoraParams, trainable: bool) -> Result<Llama> {
    let cfg = base.llama.config();
    let vb = VarBuilder::from_tensors(base.tensors.clone(), candle_core::DType::F32, base.llama.device());
    let mut m = Llama::new(cfg, vb, trainable)?;
    m.add_lora(vars, p.rank, p.alpha, p.seed)?;
    Ok(m)
}

fn eval(model: &Llama, base: &Model, task: &dyn Task, problems: &[(Problem, Vec<u32>)], data: &[Example], p: &LoraParams) -> Result<LoraEval> {
    let eos = base.tok.eos;
    let mut lps = Vec::new();
    for chunk in data.chunks(8) {
        lps.extend(seq_logprobs(model, chunk)?.to_vec1::<f32>()?.into_iter().map(f64::from));
    }
    let (mut greedy, mut sampled) = (Vec::new(), Vec::new());
    let greedy_settings = SampleSettings::greedy(p.sampling.max_new_tokens);
    for (i, (q, ids)) in problems.iter().enumerate() {
        let g = sample_batch(model, ids, eos, &greedy_settings, p.seed, &Stream::samples(i as u64, 1))?;
        greedy.push(f64::from(u8::from(g[0].complete && crate::tasks::is_correct(&base.tok, task, q, &g[0].tokens))));
        if p.eval_samples > 0 {
            // Streams of their own, apart from the dataset's samples; the same
            // before and after training.
            let streams: Vec<Stream> = (0..p.eval_samples as u64).map(|j| Stream::EvalSample { prompt: i as u64, sample: j }).collect();
            for s in sample_batch(model, ids, eos, &p.sampling, p.seed, &streams)? {
                sampled.push(f64::from(u8::from(s.complete && crate::tasks::is_correct(&base.tok, task, q, &s.tokens))));
            }
        }
    }
    let right = sampled.iter().filter(|&&x| x > 0.5).count();
    Ok(LoraEval {
        dataset_logp: mean(&lps),
        greedy_accuracy: mean(&greedy),
        sample_accuracy: (p.eval_samples > 0).then(|| mean(&sampled)),
        sample_accuracy_ci: (p.eval_samples > 0).then(|| wilson_interval(right, sampled.len())),
    })
}

/// Runs LoRA SFT-Sharpening. `clock` returns seconds (step times);
/// `progress(done, total)` counts dataset prompts, steps and the two
/// evaluations, and returning false cancels.
pub fn run_lora_sft(base: &Model, task: &dyn Task, p: &LoraParams, clock: &dyn Fn() -> f64, progress: Progress) -> Result<LoraReport> {
    p.validate()?;
    let problems: Vec<(Problem, Vec<u32>)> = choose_problems(task, p.prompts, p.seed)
        .into_iter()
        .map(|q| base.tok.encode_prompt(&q.prompt).map(|ids| (q, ids)))
        .collect::<Result<_>>()?;
    let total = problems.len() + p.steps + 2;

    let (mut data, mut ok) = (Vec::new(), Vec::new());
    for (i, (q, ids)) in problems.iter().enumerate() {
        if !progress(i, total) {
            return Err(Error::Cancelled);
        }
        if let Some((example, w)) = bon_example(base, task, q, ids, p.n, p.reward, &p.sampling, p.seed, i)? {
            data.push(example);
            ok.push(f64::from(u8::from(w.correct)));
        }
    }
    if data.is_empty() {
        return param_err(format!(
            "no answer ended within {} tokens among the {} samples of each of the {} prompts, so there is nothing to train on: use more prompts or samples (or, in the CLI, raise --max-new-tokens)",
            p.sampling.max_new_tokens,
            p.n,
            problems.len()
        ));
    }

    let vars = VarMap::new();
    let train = adapted(base, &vars, p, true)?;
    let view = adapted(base, &vars, p, false)?;
    // By name: the gradient norm sums over the variables in this order.
    let trainable: Vec<candle_core::Var> = {
        let data = vars.data().lock().map_err(|_| Error::Other("poisoned lock".into()))?;
        let mut named: Vec<_> = data.iter().collect();
        named.sort_by(|a, b| a.0.cmp(b.0));
        named.into_iter().map(|(_, v)| v.clone()).collect()
    };
    let adapter_params = trainable.iter().map(|v| v.as_tensor().elem_count()).sum();
    let mut opt = AdamW::new(trainable.clone(), ParamsAdamW { lr: p.lr, weight_decay: 0.0, ..Default::default() })?;

    if !progress(problems.len(), total) {
        return Err(Error::Cancelled);
    }
    let before = eval(&view, base, task, &problems, &data, p)?;
    let mut steps = Vec::new();
    let mut batches = Batches::new(p.seed);
    for s in 1..=p.steps {
        if !progress(problems.len() + s, total) {
            return Err(Error::Cancelled);
        }
        let batch = batches.next(&data, p.batch)?;
        let t0 = clock();
        let loss = nll_loss(&train, &batch)?;
        let (loss, grad_norm) = step_at(s, &mut opt, &trainable, &loss, p.clip)?;
        steps.push(LoraStep { step: s, loss, grad_norm, ms: (clock() - t0) * 1e3 });
    }
    if !progress(total - 1, total) {
        return Err(Error::Cancelled);
    }
    let after = eval(&view, base, task, &problems, &data, p)?;
    progress(total, total);
    let mean_step_ms = if steps.is_empty() { 0.0 } else { mean(&steps.iter().map(|s| s.ms).collect::<Vec<_>>()) };
    Ok(LoraReport {
        prompts: problems.len(),
        dataset_size: data.len(),
        dataset_accuracy: mean(&ok),
        adapter_params,
        before,
        after,
        steps,
        mean_step_ms,
    })
}
