//! The methods of the transformer coverage experiment, one seed at a time,
//! each with the same optimiser work at every budget: `fit_steps * m / 2`
//! Adam steps of `batch` examples at a budget of `m` samples per prompt
//! (what Alg. 1 has taken after its `m / 2` rounds).

use super::ctx::Ctx;
use super::fit::{Fit, Triple};
use super::point::Work;
use crate::error::Result;
use crate::model::bundle::Trainable;
use crate::model::Llama;
use crate::rng::{CoverageSide, Stream};
use crate::sample::sample_batch;
use crate::score::{score, Scored};
use crate::sharpen::coverage::CurvePoint;
use crate::sharpen::train_step::Example;

/// Base-side draw numbers at and above this are `rlhf_refit_base`'s `y`
/// (below it: `y'`, the same draws as Alg. 1's at the same alpha).
const REFIT_BASE_Y: u64 = 1 << 23;

/// An answer drawn, as a training example (`</s>` appended when complete;
/// a cut-off answer is its tokens so far), with its log-probability under
/// the model that drew it.
struct Drawn {
    ex: Example,
    logp: f64,
    complete: bool,
}

impl Ctx<'_> {
    /// Answers to prompt `i` from `model`, one per draw (cut-off ones too).
    fn draw(
        &self,
        model: &Llama,
        run: u64,
        i: usize,
        draws: std::ops::Range<u64>,
        side: CoverageSide,
    ) -> Result<Vec<Drawn>> {
        let streams: Vec<Stream> = draws
            .map(|draw| Stream::Coverage {
                run,
                prompt: i as u64,
                draw,
                side,
            })
            .collect();
        let ids = &self.bl.prompt_ids[i];
        let eos = self.base.tok.eos;
        Ok(
            sample_batch(model, ids, eos, self.sampling, self.seed, &streams)?
                .into_iter()
                .map(|s| {
                    let target = if s.complete {
                        [s.tokens.as_slice(), &[eos]].concat()
                    } else {
                        s.tokens
                    };
                    Drawn {
                        ex: Example {
                            prompt: ids.clone(),
                            target,
                        },
                        logp: s.logp,
                        complete: s.complete,
                    }
                })
                .collect(),
        )
    }

    fn steps_at(&self, m: usize) -> usize {
        self.p.fit_steps * (m / 2)
    }

    /// A fit from the base model at budget `m` (the `k`-th) on `len`
    /// examples drawn with `base` samples: `fit` trains a fresh copy with
    /// `steps_at(m)` Adam steps (none without data); then its curve point.
    fn fit_from_base(
        &self,
        m: usize,
        k: usize,
        run: u64,
        base: usize,
        len: usize,
        fit: impl FnOnce(&Trainable, Fit, &mut Vec<bool>) -> Result<()>,
    ) -> Result<CurvePoint> {
        let tr = self.base.trainable_copy()?;
        let mut seen = Vec::new();
        let steps = if len == 0 { 0 } else { self.steps_at(m) };
        fit(
            &tr,
            Fit {
                steps,
                run,
                fit: k as u64,
            },
            &mut seen,
        )?;
        let distinct = seen.iter().filter(|&&x| x).count();
        let w = Work {
            base,
            policy: 0,
            steps,
            dataset: len,
            distinct,
        };
        self.point(&tr.view, w, self.p.budgets.last() == Some(&m))
    }

    /// SFT-Sharpening with `n` samples per prompt: at each budget `m`, the
    /// `m / n` best-of-n winners (by `log pi_base`; a cut-off answer never
    /// wins) of every prompt, fitted from the base model.
    pub fn sft(&self, n: usize, run: u64) -> Result<Vec<CurvePoint>> {
        let mut out = Vec::new();
        let prompts = self.bl.problems.len();
        for (k, &m) in self.p.budgets.iter().enumerate().filter(|(_, &m)| m >= n) {
            let groups = (m / n) as u64;
            let mut data = Vec::new();
            for i in 0..prompts {
                for g in 0..groups {
                    let drawn = self.draw(
                        &self.base.llama,
                        run,
                        i,
                        g * n as u64..(g + 1) * n as u64,
                        CoverageSide::Base,
                    )?;
                    if let Some(d) = drawn
                        .into_iter()
                        .filter(|d| d.complete)
                        .max_by(|a, b| a.logp.total_cmp(&b.logp))
                    {
                        data.push(d.ex);
                    }
                }
            }
            let base = groups as usize * n * prompts;
            out.push(
                self.fit_from_base(m, k, run, base, data.len(), |tr, f, seen| {
                    self.fit_sft(tr, &data, f, seen)
                })?,
            );
        }
        Ok(out)
    }

    /// Eq. 8 on `m / 2` pairs per prompt from `pi_base`, fitted from the base model.
    pub fn offline(&self, run: u64) -> Result<Vec<CurvePoint>> {
        let mut out = Vec::new();
        let prompts = self.bl.problems.len();
        for (k, &m) in self.p.budgets.iter().enumerate() {
            let pairs = (m / 2) as u64;
            let mut data = Vec::new();
            for i in 0..prompts {
                let d = self.draw(&self.base.llama, run, i, 0..2 * pairs, CoverageSide::Base)?;
                for two in d.chunks(2) {
                    if let [y, y2] = two {
                        data.push(Triple {
                            y: y.ex.clone(),
                            y2: y2.ex.clone(),
                            lb_y: y.logp,
                            lb_y2: y2.logp,
                        });
                    }
                }
            }
            let base = 2 * pairs as usize * prompts;
            out.push(
                self.fit_from_base(m, k, run, base, data.len(), |tr, f, seen| {
                    self.fit_pairs(tr, &data, 0.0, f, seen)
                })?,
            );
        }
        Ok(out)
    }

    /// Alg. 1 with optimism `alpha` and its two ablations, warm-started
    /// round after round from the base model, `fit_steps` Adam steps a round:
    /// * `AlgOne`: round `t` draws `y ~ pi^(t)` and `y' ~ pi_base` for every
    ///   prompt, keeps every triple and refits on all of them (Alg. 1);
    /// * `Fresh`: the same draws, each round fitted on its own triples only;
    /// * `RefitBase`: Alg. 1's accumulate-and-refit with `y ~ pi_base` too
    ///   (the `y'` draws are Alg. 1's): what exploration adds is `AlgOne`
    ///   against this.
    ///
    /// `draws` keys the samples (shared by the three at one alpha: paired
    /// draws), `run` the mini-batches.
    pub fn online(
        &self,
        alpha: f64,
        kind: Schedule,
        draws: u64,
        run: u64,
    ) -> Result<Vec<CurvePoint>> {
        let rounds = *self.p.budgets.iter().max().expect("validated") / 2;
        let tr = self.base.trainable_copy()?;
        let prompts = self.bl.problems.len();
        let (mut data, mut seen, mut distinct, mut w): (Vec<Triple>, Vec<bool>, usize, Work) =
            (Vec::new(), Vec::new(), 0, Work::default());
        let mut out = Vec::new();
        for t in 1..=rounds {
            let mut fresh = Vec::new();
            for i in 0..prompts {
                let from_base = kind == Schedule::RefitBase;
                let (model, first, side) = if from_base {
                    (
                        &self.base.llama,
                        REFIT_BASE_Y + t as u64,
                        CoverageSide::Base,
                    )
                } else {
                    (&tr.view, t as u64, CoverageSide::Policy)
                };
                let y = self
                    .draw(model, draws, i, first..first + 1, side)?
                    .remove(0);
                let y2 = self
                    .draw(
                        &self.base.llama,
                        draws,
                        i,
                        t as u64..t as u64 + 1,
                        CoverageSide::Base,
                    )?
                    .remove(0);
                // r(y) = log pi_base(y), scored by the frozen base model (a
                // cut-off answer: the probability of its tokens so far).
                let lb_y = if from_base {
                    y.logp
                } else {
                    score(
                        &self.base.llama,
                        &[Scored {
                            prompt: &y.ex.prompt,
                            continuation: &y.ex.target,
                        }],
                    )?[0]
                };
                fresh.push(Triple {
                    y: y.ex,
                    y2: y2.ex,
                    lb_y,
                    lb_y2: y2.logp,
                });
                if from_base {
                    w.base += 2;
                } else {
                    w.base += 1;
                    w.policy += 1;
                }
            }
            let fit = t as u64;
            match kind {
                Schedule::Fresh => {
                    let mut round_seen = Vec::new();
                    self.fit_pairs(
                        &tr,
                        &fresh,
                        alpha,
                        Fit {
                            steps: self.p.fit_steps,
                            run,
                            fit,
                        },
                        &mut round_seen,
                    )?;
                    distinct += round_seen.iter().filter(|&&x| x).count();
                    w.dataset = fresh.len();
                }
                _ => {
                    data.extend(fresh);
                    self.fit_pairs(
                        &tr,
                        &data,
                        alpha,
                        Fit {
                            steps: self.p.fit_steps,
                            run,
                            fit,
                        },
                        &mut seen,
                    )?;
                    distinct = seen.iter().filter(|&&x| x).count();
                    w.dataset = data.len();
                }
            }
            w.steps += self.p.fit_steps;
            w.distinct = distinct;
            if self.p.budgets.contains(&(2 * t)) {
                out.push(self.point(&tr.view, w, t == rounds)?);
            }
        }
        Ok(out)
    }
}

/// Which of Alg. 1's schedules [`Ctx::online`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Schedule {
    AlgOne,
    Fresh,
    RefitBase,
}
