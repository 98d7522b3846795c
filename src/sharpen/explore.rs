//! The prompt explorer: N samples of one prompt with every self-reward, the
//! oracle verdict and each reward's best-of-N pick, beside the prompt's exact
//! answer distribution (see `exact.rs`).

use serde::{Deserialize, Serialize};

use super::exact::{enumerate, Distribution};
use crate::error::{param_err, Result};
use crate::model::{Llama, Model, Tok};
use crate::reward::{judge, select, Judged, Reward};
use crate::sample::{sample_batch, SampleSettings};
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
    /// Exact probability that one sample is correct.
    pub sample_accuracy_exact: f64,
}

pub fn explore(model: &Model, task: &dyn Task, p: &ExploreParams) -> Result<ExploreReport> {
    crate::tasks::require_enumerable(task, "the prompt explorer")?;
    p.sampling.validate()?;
    if p.n == 0 || p.n > 1024 {
        return param_err(format!("N = {} must be in 1..=1024", p.n));
    }
    if p.show == 0 {
        return param_err("show at least one answer");
    }
    let q = task.parse(&p.prompt)?;
    let ids = model.tok.encode_prompt(&q.prompt)?;
    let eos = model.tok.eos;
    let samples = sample_batch(&model.llama, &ids, eos, p.n, &p.sampling, p.seed, 0)?;
    let judged = judge(model, task, &q, &samples, true)?;
    let votes = judged
        .iter()
        .map(|j| j.answer.as_ref().map_or(0, |a| judged.iter().filter(|o| o.answer.as_ref() == Some(a)).count()))
        .collect();
    let picks = Reward::ALL.iter().map(|&reward| Pick { reward, index: select(reward, &judged) }).collect();
    let (rows, leftover, entropy) = answer_rows(&model.llama, &model.tok, task, &q, p.threshold)?;
    let sample_accuracy_exact = rows.iter().filter(|r| r.correct).map(|r| r.p).sum();
    let rest_mass = rows.iter().skip(p.show).map(|r| r.p).sum();
    Ok(ExploreReport {
        prompt: q.prompt,
        answer: q.answer,
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
        sample_accuracy_exact,
    })
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
