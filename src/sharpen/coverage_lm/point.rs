//! What each curve point of the transformer coverage experiment measures:
//! `pi(y*)` exactly, the mass on malformed answers between two bounds, the
//! mass kept on the base model's answers, and the work behind the point.

use super::ctx::Ctx;
use crate::error::Result;
use crate::model::Llama;
use crate::score::{score, Scored};
use crate::sharpen::coverage::CurvePoint;
use crate::sharpen::exact::enumerate;
use crate::sharpen::metrics::{mean, sharpened_fraction};

/// Enumeration threshold of the trained models' distributions, for the mass
/// on malformed answers: coarser than the base model's (a diffuse model
/// has thousands of answers above 1e-4); what it leaves is reported.
const MALFORMED_THRESHOLD: f64 = 1e-3;

/// What a curve point counts (all prompts together).
#[derive(Clone, Copy, Default)]
pub(super) struct Work {
    pub base: usize,
    pub policy: usize,
    pub steps: usize,
    pub dataset: usize,
    pub distinct: usize,
}

impl Ctx<'_> {
    /// The exact `pi(y*)` of every prompt (scored directly), the mass on
    /// answers the task cannot read, and at the curve's last point the mass
    /// kept on the base model's answers.
    pub(super) fn point(&self, model: &Llama, w: Work, last: bool) -> Result<CurvePoint> {
        let items: Vec<Scored> = self
            .bl
            .prompt_ids
            .iter()
            .zip(self.stars)
            .map(|(p, c)| Scored {
                prompt: p,
                continuation: c,
            })
            .collect();
        let ps: Vec<f64> = score(model, &items)?.into_iter().map(f64::exp).collect();
        let eos = self.base.tok.eos;
        let dists = enumerate(
            model,
            &self.bl.prompt_ids,
            eos,
            self.task.max_answer_tokens(),
            MALFORMED_THRESHOLD,
        )?;
        let unreadable = |t: &[u32]| {
            self.base
                .tok
                .decode(t)
                .ok()
                .and_then(|s| self.task.extract(&s))
                .is_none()
        };
        // (`max`: an empty sum is -0.0)
        let malformed: Vec<f64> = dists
            .iter()
            .map(|d| d.mass_where(unreadable).max(0.0))
            .collect();
        let unlisted: Vec<f64> = dists.iter().map(|d| d.leftover).collect();
        let support = if last {
            Some(self.support(model)?)
        } else {
            None
        };
        Ok(CurvePoint {
            samples: w.base + w.policy,
            samples_base: w.base,
            samples_policy: w.policy,
            p_star: mean(&ps),
            sharpened: sharpened_fraction(&ps, self.p.delta),
            support,
            optimizer_steps: Some(w.steps),
            dataset: Some(w.dataset as f64),
            distinct_examples: Some(w.distinct as f64),
            p_star_seeds: None,
            malformed: Some(mean(&malformed)),
            unlisted: Some(mean(&unlisted)),
            ..CurvePoint::default()
        })
    }

    /// Mean mass `model` puts on every answer the base model lists (scored directly).
    fn support(&self, model: &Llama) -> Result<f64> {
        let eos = self.base.tok.eos;
        let conts: Vec<(usize, Vec<u32>)> = self
            .bl
            .dists
            .iter()
            .enumerate()
            .flat_map(|(i, d)| {
                d.answers
                    .iter()
                    .map(move |a| (i, [a.tokens.as_slice(), &[eos]].concat()))
            })
            .collect();
        let items: Vec<Scored> = conts
            .iter()
            .map(|(i, c)| Scored {
                prompt: &self.bl.prompt_ids[*i],
                continuation: c,
            })
            .collect();
        let mut mass = vec![0.0; self.bl.problems.len()];
        for ((i, _), lp) in conts.iter().zip(score(model, &items)?) {
            mass[*i] += lp.exp();
        }
        Ok(mean(&mass))
    }
}
