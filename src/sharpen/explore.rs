//! The prompt explorer: N samples of one prompt with every self-reward, the
//! oracle verdict and each reward's best-of-N pick, beside the prompt's exact
//! answer distribution (see `exact.rs`).

use serde::{Deserialize, Serialize};

use super::exact::{enumerate, enumerate_sampled, Distribution};
use super::metrics::wilson_interval;
use crate::error::{param_err, Result};
use crate::model::{Llama, Model, Tok};
use crate::reward::{judge, select, Judged, Reward};
use crate::rng::Stream;
use crate::decode::{block_on, on_cpu, Decode, Score};
use crate::sample::{sample_on, SampleSettings};
use crate::score::Scored;
use crate::tasks::{Problem, Task};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExploreParams {
    pub prompt: String,
    /// Number of samples N.
    pub n: usize,
    pub sampling: SampleSettings,
    pub seed: u64,
    /// Enumeration threshold (answers below it count as unlisted mass).
    pub threshold: f64,
    /// How many of the most likely answers the report lists.
    pub show: usize,
}

impl Default for ExploreParams {
    fn default() -> Self {
        Self { prompt: String::new(), n: 16, sampling: SampleSettings::default(), seed: 0, threshold: 1e-6, show: 12 }
    }
}

/// One answer of the exact distribution.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AnswerRow {
    pub text: String,
    pub p: f64,
    pub correct: bool,
}

/// Which sample a self-reward's best-of-N picks.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pick {
    pub reward: Reward,
    pub index: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExploreReport {
    pub prompt: String,
    /// The oracle's answer.
    pub answer: String,
    pub marked: bool,
    /// Sampling temperature and seed of the samples.
    pub temperature: f64,
    pub seed: u64,
    pub samples: Vec<Judged>,
    /// Majority-vote count of each sample's extracted answer in the N samples.
    pub votes: Vec<usize>,
    pub picks: Vec<Pick>,
    /// The `show` most likely complete answers (exact), most likely first.
    pub distribution: Vec<AnswerRow>,
    /// Number of answers listed by the enumeration (at or above the threshold).
    pub listed: usize,
    /// Mass of listed answers beyond the first `show`.
    pub rest_mass: f64,
    /// Mass below the threshold (not listed).
    pub leftover: f64,
    /// Entropy of the listed answers, nats.
    pub entropy: f64,
    /// Probability that one sample (at these sampling settings, from `q`) is
    /// correct: exact for enumerated answers; for free text the share of the
    /// `n` samples the oracle accepts (an estimate, interval in
    /// `sample_accuracy_ci`).
    pub sample_accuracy: f64,
    /// 95% Wilson interval of `sample_accuracy` (free text only).
    #[serde(default)]
    pub sample_accuracy_ci: Option<[f64; 2]>,
    /// The exact probability that a sample from `pi_base` itself
    /// (temperature 1, no truncation) is correct, when the samples come from
    /// another `q` (enumerated answers only).
    #[serde(default)]
    pub sample_accuracy_base: Option<f64>,
    /// `q(y|x)` of each row of `distribution` under the sampling settings
    /// (exact), when they are not temperature 1 without truncation.
    #[serde(default)]
    pub distribution_q: Option<Vec<f64>>,
    /// True when `distribution` is the enumerated answer distribution. False
    /// for free-text answers (real models): `distribution` lists the distinct
    /// complete sampled answers, each with its exact probability; `leftover`
    /// is the mass of every answer not sampled, `entropy` is NaN (unknown) and
    /// `sample_accuracy` is the share of samples the oracle accepts (an
    /// estimate).
    #[serde(default = "yes")]
    pub exact: bool,
    /// Per sample: each answer token (`</s>` included when complete) with
    /// `log pi(token | prompt, earlier tokens)`, from one scoring pass (the
    /// f32 weights): the same numbers as `sharpen score`.
    #[serde(default)]
    pub token_logps: Vec<Vec<TokenLogp>>,
}

/// One token of a scored answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TokenLogp {
    /// The token's text (special tokens as their name).
    pub text: String,
    pub logp: f64,
}

fn yes() -> bool {
    true
}

pub fn explore(model: &Model, task: &dyn Task, p: &ExploreParams) -> Result<ExploreReport> {
    block_on(explore_on(model, task, p, &mut *on_cpu(&model.llama)))
}

/// [`explore`] with the samples drawn and scored (self-verification, each
/// sample's per-token log-probabilities) through `dec`: the CPU or the GPU
/// path. The exact distributions stay on the CPU.
pub async fn explore_on(model: &Model, task: &dyn Task, p: &ExploreParams, dec: &mut dyn Decode) -> Result<ExploreReport> {
    let (q, ids) = explore_prompt(model, task, p)?;
    let samples = sample_on(dec, &ids, model.tok.eos, &p.sampling, p.seed, &Stream::samples(0, p.n)).await?;
    explore_report(model, task, p, &q, &ids, samples, dec).await
}

/// The checked parameters' problem and prompt ids.
fn explore_prompt(model: &Model, task: &dyn Task, p: &ExploreParams) -> Result<(crate::tasks::Problem, Vec<u32>)> {
    p.sampling.validate()?;
    if p.n == 0 || p.n > 1024 {
        return param_err(format!("N = {} must be in 1..=1024", p.n));
    }
    if p.show == 0 {
        return param_err("show at least one answer");
    }
    let q = task.parse(&p.prompt)?;
    let ids = model.tok.encode_prompt(&q.prompt)?;
    Ok((q, ids))
}

/// The report from the `p.n` samples of the prompt.
/// Scoring (self-verification and each sample's per-token log-probabilities)
/// goes through `scorer`.
async fn explore_report(
    model: &Model,
    task: &dyn Task,
    p: &ExploreParams,
    q: &crate::tasks::Problem,
    ids: &[u32],
    samples: Vec<crate::sample::Sample>,
    scorer: &mut dyn Score,
) -> Result<ExploreReport> {
    let judged = judge(model, task, q, &samples, true, scorer).await?;
    let votes = judged
        .iter()
        .map(|j| j.answer.as_ref().map_or(0, |a| judged.iter().filter(|o| o.answer.as_ref() == Some(a)).count()))
        .collect();
    let picks = Reward::ALL.iter().map(|&reward| Pick { reward, index: select(reward, &judged) }).collect();
    let token_logps = per_token(model, ids, &samples, scorer).await?;
    let exact = task.enumerable();
    let (mut sample_accuracy_ci, mut sample_accuracy_base, mut distribution_q): (_, _, Option<Vec<f64>>) = (None, None, None);
    let (rows, leftover, entropy, sample_accuracy) = if exact {
        let (rows, leftover, entropy) = answer_rows(&model.llama, &model.tok, task, q, p.threshold)?;
        let acc: f64 = rows.iter().filter(|r| r.correct).map(|r| r.p).sum();
        if p.sampling.is_untruncated_t1() {
            (rows, leftover, entropy, acc)
        } else {
            // The samples come from q: its exact distribution beside pi_base's.
            let d = enumerate_sampled(&model.llama, &[ids.to_vec()], model.tok.eos, task.max_answer_tokens(), p.threshold, &p.sampling)?.remove(0);
            let q_rows = rows_of(&d, &model.tok, task, q)?;
            distribution_q = Some(rows.iter().map(|r| q_rows.iter().find(|x| x.text == r.text).map_or(0.0, |x| x.p)).collect());
            sample_accuracy_base = Some(acc);
            let acc_q = q_rows.iter().filter(|r| r.correct).map(|r| r.p).sum();
            (rows, leftover, entropy, acc_q)
        }
    } else {
        let rows = sampled_rows(&judged);
        let leftover = (1.0 - rows.iter().map(|r| r.p).sum::<f64>()).max(0.0);
        let right = judged.iter().filter(|j| j.correct).count();
        sample_accuracy_ci = Some(wilson_interval(right, judged.len()));
        (rows, leftover, f64::NAN, right as f64 / judged.len() as f64)
    };
    // `+ 0.0`: an empty float sum is -0.0, which would print as "-0.0000".
    let rest_mass = rows.iter().skip(p.show).map(|r| r.p).sum::<f64>() + 0.0;
    Ok(ExploreReport {
        prompt: q.prompt.clone(),
        answer: q.answer.clone(),
        marked: q.marked,
        temperature: p.sampling.temperature,
        seed: p.seed,
        samples: judged,
        votes,
        picks,
        listed: rows.len(),
        distribution: rows.into_iter().take(p.show).collect(),
        rest_mass,
        leftover,
        entropy,
        sample_accuracy,
        sample_accuracy_ci,
        sample_accuracy_base,
        distribution_q: distribution_q.map(|v| v.into_iter().take(p.show).collect()),
        exact,
        token_logps,
    })
}

/// Each sample's tokens, `</s>` included when it ended with it.
fn sample_answers(model: &Model, samples: &[crate::sample::Sample]) -> Vec<Vec<u32>> {
    samples.iter().map(|s| s.tokens.iter().copied().chain(s.complete.then_some(model.tok.eos)).collect()).collect()
}

/// Per-token log-probabilities of every sample (`</s>` included when the
/// sample ended with it): those `sample::rescore` kept, the rest scored in
/// one batch.
async fn per_token(model: &Model, ids: &[u32], samples: &[crate::sample::Sample], scorer: &mut dyn Score) -> Result<Vec<Vec<TokenLogp>>> {
    let seqs = sample_answers(model, samples);
    let todo = |(y, s): &(&Vec<u32>, &crate::sample::Sample)| !y.is_empty() && s.token_logps.is_none();
    let items: Vec<Scored> = seqs.iter().zip(samples).filter(todo).map(|(y, _)| Scored { prompt: ids, continuation: y }).collect();
    let mut scored = scorer.token_logps(&items).await?.into_iter();
    seqs.iter()
        .zip(samples)
        .map(|(y, s)| {
            if y.is_empty() {
                return Ok(vec![]);
            }
            let lps = match &s.token_logps {
                Some(kept) => kept.clone(),
                None => scored.next().unwrap_or_default(),
            };
            y.iter()
                .zip(lps)
                .map(|(&t, logp)| Ok(TokenLogp { text: if t == model.tok.eos { model.tok.piece(t) } else { model.tok.decode(&[t])? }, logp }))
                .collect()
        })
        .collect()
}

/// The distinct complete sampled answers with their exact probabilities,
/// most likely first (ties by text).
fn sampled_rows(judged: &[Judged]) -> Vec<AnswerRow> {
    let mut rows: Vec<AnswerRow> = Vec::new();
    for j in judged.iter().filter(|j| j.complete) {
        if !rows.iter().any(|r| r.text == j.text) {
            rows.push(AnswerRow { text: j.text.clone(), p: j.logp_base.exp(), correct: j.correct });
        }
    }
    rows.sort_by(|a, b| b.p.total_cmp(&a.p).then(a.text.cmp(&b.text)));
    rows
}

/// The exact answer distribution of `q` under `llama`, as text rows (most
/// likely first), with the unlisted mass and the entropy (nats).
pub fn answer_rows(llama: &Llama, tok: &Tok, task: &dyn Task, q: &Problem, threshold: f64) -> Result<(Vec<AnswerRow>, f64, f64)> {
    let ids = tok.encode_prompt(&q.prompt)?;
    let d = enumerate(llama, &[ids], tok.eos, task.max_answer_tokens(), threshold)?.remove(0);
    Ok((rows_of(&d, tok, task, q)?, d.leftover, d.entropy()))
}

/// The answers of `d` as text rows with the oracle's verdict, in `d`'s order.
pub fn rows_of(d: &Distribution, tok: &Tok, task: &dyn Task, q: &Problem) -> Result<Vec<AnswerRow>> {
    d.answers
        .iter()
        .map(|a| {
            let text = tok.decode(&a.tokens)?;
            let correct = task.check(q, &text);
            Ok(AnswerRow { text, p: a.logp.exp(), correct })
        })
        .collect()
}
