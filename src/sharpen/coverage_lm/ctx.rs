//! What every method of the transformer coverage experiment shares in one
//! seed's run: the base model and its enumeration, the prompts' `y*`, the
//! sampling settings, the parameters and the seed.

use super::LmCoverageParams;
use crate::model::Model;
use crate::sample::SampleSettings;
use crate::sharpen::eval::Baseline;
use crate::tasks::Task;

pub(super) struct Ctx<'a> {
    pub base: &'a Model,
    pub task: &'a dyn Task,
    pub bl: &'a Baseline,
    /// `y*` of each prompt, `</s>` appended.
    pub stars: &'a [Vec<u32>],
    pub sampling: &'a SampleSettings,
    pub p: &'a LmCoverageParams,
    /// The seed of this run of every method.
    pub seed: u64,
}
