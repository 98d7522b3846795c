//! Fitting in the transformer coverage experiment: mini-batches drawn
//! without replacement from a random stream of each fit's own, and the
//! SFT (maximum likelihood) and Eq. 8 steps on them.

use candle_nn::{AdamW, Optimizer, ParamsAdamW};

use super::ctx::Ctx;
use crate::error::Result;
use crate::model::bundle::Trainable;
use crate::rng::{CoverageSide, Rng, Stream};
use crate::sharpen::rlhf::eq8_loss;
use crate::sharpen::train_step::{cosine_lr, nll_loss, seq_logprobs, step_at, Example};

/// A triple of Alg. 1 (`y`, `y'` with their `log pi_base`).
#[derive(Clone)]
pub(super) struct Triple {
    pub y: Example,
    pub y2: Example,
    pub lb_y: f64,
    pub lb_y2: f64,
}

/// One fit: its Adam steps and the key of its mini-batch stream.
#[derive(Clone, Copy)]
pub(super) struct Fit {
    pub steps: usize,
    pub run: u64,
    pub fit: u64,
}

/// One Adam step on the mini-batch with the given indices (the step's number last).
type StepFn<'a> = dyn Fn(&Trainable, &mut AdamW, &[usize], usize) -> Result<()> + 'a;

/// Mini-batches drawn without replacement and reshuffled each epoch, with a
/// random stream of the fit's own (`run`, `fit`), recording which examples
/// were used.
struct Epochs {
    seed: u64,
    run: u64,
    fit: u64,
    epoch: u64,
    order: Vec<usize>,
}

impl Epochs {
    fn next(&mut self, len: usize, size: usize, seen: &mut Vec<bool>) -> Result<Vec<usize>> {
        seen.resize(len, false);
        let mut batch = Vec::with_capacity(size.min(len));
        while batch.len() < size.min(len) {
            if self.order.is_empty() {
                self.order = (0..len).collect();
                Rng::new(
                    self.seed,
                    Stream::Coverage {
                        run: self.run,
                        prompt: self.fit,
                        draw: self.epoch,
                        side: CoverageSide::Batch,
                    },
                )?
                .shuffle(&mut self.order);
                self.epoch += 1;
            }
            let i = self.order.pop().expect("refilled above");
            seen[i] = true;
            batch.push(i);
        }
        Ok(batch)
    }
}

impl Ctx<'_> {
    /// `f.steps` Adam steps from `tr` (a fresh Adam, cosine-decayed rate),
    /// each on the next mini-batch of `len` examples; `step` takes the
    /// batch's indices.
    fn fit(
        &self,
        tr: &Trainable,
        len: usize,
        f: Fit,
        seen: &mut Vec<bool>,
        step: &StepFn,
    ) -> Result<()> {
        if len == 0 {
            return Ok(());
        }
        let mut opt = AdamW::new(
            tr.sorted_vars(),
            ParamsAdamW {
                lr: self.p.lr,
                weight_decay: 0.0,
                ..Default::default()
            },
        )?;
        let mut epochs = Epochs {
            seed: self.seed,
            run: f.run,
            fit: f.fit,
            epoch: 0,
            order: Vec::new(),
        };
        let steps = f.steps;
        for s in 1..=steps {
            let idx = epochs.next(len, self.p.batch, seen)?;
            opt.set_learning_rate(cosine_lr(self.p.lr, s, steps));
            step(tr, &mut opt, &idx, s)?;
        }
        Ok(())
    }

    pub(super) fn fit_sft(
        &self,
        tr: &Trainable,
        data: &[Example],
        f: Fit,
        seen: &mut Vec<bool>,
    ) -> Result<()> {
        self.fit(tr, data.len(), f, seen, &|tr, opt, idx, s| {
            let batch: Vec<Example> = idx.iter().map(|&i| data[i].clone()).collect();
            step_at(
                s,
                opt,
                &tr.sorted_vars(),
                &nll_loss(&tr.train, &batch)?,
                1.0,
            )
            .map(|_| ())
        })
    }

    pub(super) fn fit_pairs(
        &self,
        tr: &Trainable,
        data: &[Triple],
        alpha: f64,
        f: Fit,
        seen: &mut Vec<bool>,
    ) -> Result<()> {
        self.fit(tr, data.len(), f, seen, &|tr, opt, idx, s| {
            let pick: Vec<&Triple> = idx.iter().map(|&i| &data[i]).collect();
            let both: Vec<Example> = pick
                .iter()
                .map(|t| t.y.clone())
                .chain(pick.iter().map(|t| t.y2.clone()))
                .collect();
            let lp = seq_logprobs(&tr.train, &both)?;
            let n = pick.len();
            let lb_y: Vec<f64> = pick.iter().map(|t| t.lb_y).collect();
            let lb_y2: Vec<f64> = pick.iter().map(|t| t.lb_y2).collect();
            let loss = eq8_loss(
                &lp.narrow(0, 0, n)?,
                &lp.narrow(0, n, n)?,
                &lb_y,
                &lb_y2,
                self.p.beta,
                alpha,
            )?;
            step_at(s, opt, &tr.sorted_vars(), &loss, 1.0).map(|_| ())
        })
    }
}
