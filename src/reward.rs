//! Self-rewards: how the model judges its own answers (arXiv 2412.01951:
//! Eq. 2 and the rewards of its experiments).
//!
//! * `loglik`: `r(y|x) = log pi_base(y|x)` (Eq. 2, maximum-likelihood sharpening).
//! * `loglik_norm`: `log pi_base(y|x) / |y|`, tokens counted with `</s>`.
//! * `majority`: the number of samples in the group stating the same extracted
//!   answer (majority vote; ties go to the earliest sample).
//! * `self_verify`: `log pi_base("Y" | "x y?")`, the model's own verdict when
//!   asked whether the answer is correct.
//!
//! The task's oracle checker is recorded beside these (`correct`) and never used
//! by them. An answer cut off by the length limit is not a complete response and
//! gets reward `-inf` under every self-reward.

use serde::{Deserialize, Serialize};

use crate::error::{param_err, Error, Result};
use crate::model::Model;
use crate::sample::Sample;
use crate::decode::{score, Score};
use crate::score::Scored;
use crate::tasks::{Problem, Task};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reward {
    Loglik,
    LoglikNorm,
    Majority,
    SelfVerify,
}

impl Reward {
    pub const ALL: [Reward; 4] = [Reward::Loglik, Reward::LoglikNorm, Reward::Majority, Reward::SelfVerify];

    pub fn name(self) -> &'static str {
        match self {
            Reward::Loglik => "loglik",
            Reward::LoglikNorm => "loglik_norm",
            Reward::Majority => "majority",
            Reward::SelfVerify => "self_verify",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL.into_iter().find(|r| r.name() == s).map_or_else(
            || param_err(format!("unknown reward {s:?}; choose from loglik, loglik_norm, majority, self_verify")),
            Ok,
        )
    }

    /// Parses a comma-separated list (`"all"` for every reward).
    pub fn parse_list(s: &str) -> Result<Vec<Self>> {
        if s == "all" {
            return Ok(Self::ALL.to_vec());
        }
        let mut out = Vec::new();
        for part in s.split(',') {
            let r = Self::parse(part.trim())?;
            if !out.contains(&r) {
                out.push(r);
            }
        }
        Ok(out)
    }
}

/// A sampled answer with everything the rewards and the oracle say about it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Judged {
    pub tokens: Vec<u32>,
    pub text: String,
    /// The answer the task extracts (majority vote groups by it).
    pub answer: Option<String>,
    pub complete: bool,
    /// Oracle verdict (not a self-reward).
    pub correct: bool,
    /// `log pi_base(y|x)`, `</s>` included.
    pub logp_base: f64,
    /// `log pi_base(y|x) / |y|`.
    pub logp_norm: f64,
    /// `log pi_base("Y" | verification prompt)`; `-inf` if not computed.
    pub verify: f64,
}

/// Judges samples of `problem` whose `logp` is under the base model `base`.
/// `with_verify` computes the self-verification reward (one more forward
/// pass, through `scorer`: the CPU or the GPU path).
pub async fn judge(base: &Model, task: &dyn Task, problem: &Problem, samples: &[Sample], with_verify: bool, scorer: &mut dyn Score) -> Result<Vec<Judged>> {
    let mut out = Vec::with_capacity(samples.len());
    for s in samples {
        let text = base.tok.decode(&s.tokens)?;
        let answer = if s.complete { task.extract(&text) } else { None };
        let correct = s.complete && task.check(problem, &text);
        let (lp, norm) = if s.complete {
            (s.logp, s.logp / s.scored_len() as f64)
        } else {
            (f64::NEG_INFINITY, f64::NEG_INFINITY)
        };
        out.push(Judged { tokens: s.tokens.clone(), text, answer, complete: s.complete, correct, logp_base: lp, logp_norm: norm, verify: f64::NEG_INFINITY });
    }
    if with_verify {
        let items = verify_items(base, task, problem, &out)?;
        add_verify(&mut out, &items, scorer).await?;
    }
    Ok(out)
}

/// Sets the self-verification reward of the answers `items` names (from
/// [`verify_items`] of `judged`), scored by `scorer`.
pub async fn add_verify(judged: &mut [Judged], (idx, prompts, yes): &VerifyItems, scorer: &mut dyn Score) -> Result<()> {
    let items: Vec<Scored> = prompts.iter().map(|p| Scored { prompt: p, continuation: yes }).collect();
    if !items.is_empty() {
        for (&i, v) in idx.iter().zip(score(scorer, &items).await?) {
            judged[i].verify = v;
        }
    }
    Ok(())
}

/// What self-verification scores: the indices of the complete answers, each
/// one's verification prompt, and the one-token continuation (`Y`) whose
/// log-probability is the reward.
pub type VerifyItems = (Vec<usize>, Vec<Vec<u32>>, Vec<u32>);

/// The [`VerifyItems`] of judged answers.
pub fn verify_items(base: &Model, task: &dyn Task, problem: &Problem, judged: &[Judged]) -> Result<VerifyItems> {
    let yes = base.tok.encode(task.verify_yes())?;
    if yes.len() != 1 {
        return Err(Error::Tokenizer(format!("the verification answer {:?} is not a single token", task.verify_yes())));
    }
    let idx: Vec<usize> = (0..judged.len()).filter(|&i| judged[i].complete).collect();
    let prompts = idx.iter().map(|&i| base.tok.encode_prompt(&task.verify_prompt(&problem.prompt, &judged[i].text))).collect::<Result<Vec<_>>>()?;
    Ok((idx, prompts, yes))
}

/// Index of the answer best-of-N returns from `group` under `reward`: the
/// highest reward, ties to the earliest sample.
pub fn select(reward: Reward, group: &[Judged]) -> usize {
    let value = |j: &Judged| -> f64 {
        if !j.complete {
            return f64::NEG_INFINITY;
        }
        match reward {
            Reward::Loglik => j.logp_base,
            Reward::LoglikNorm => j.logp_norm,
            Reward::SelfVerify => j.verify,
            Reward::Majority => match &j.answer {
                Some(a) => group.iter().filter(|o| o.answer.as_ref() == Some(a)).count() as f64,
                None => f64::NEG_INFINITY,
            },
        }
    };
    let mut best = 0;
    let mut best_v = f64::NEG_INFINITY;
    for (i, j) in group.iter().enumerate() {
        let v = value(j);
        if v > best_v {
            best = i;
            best_v = v;
        }
    }
    best
}
