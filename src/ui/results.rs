//! What the page has received from the worker, per experiment, in one map:
//! each finished run's outcome with its exports, and the training runs as
//! they stream in.

use crate::sharpen::eval::Target;
use std::collections::BTreeMap;

use crate::app::protocol::{Exports, FromWorker, Outcome, Watched};
use crate::app::Experiment;
use crate::sharpen::sft::StepMetrics;

/// A finished run.
pub struct Finished {
    pub outcome: Outcome,
    pub exports: Exports,
}

/// An SFT or RLHF run as it streams in.
pub struct Live {
    pub steps: Vec<StepMetrics>,
    /// RLHF: `KL(pi || pi*_beta)` per evaluation (empty for SFT).
    pub kl_closed_form: Vec<f64>,
    pub watched: Vec<Watched>,
    /// Which evaluation the morph chart shows.
    pub shown: usize,
    pub total_steps: usize,
    /// What the sharpened share counts.
    pub target: Target,
    pub cancelled: bool,
    /// The morph chart plays through the evaluations.
    pub playing: bool,
}

impl Live {
    pub fn new(total_steps: usize, target: Target) -> Self {
        Self { steps: vec![], kl_closed_form: vec![], watched: vec![], shown: 0, total_steps, target, cancelled: false, playing: false }
    }
}

impl Live {
    /// Play / Pause; playing from the last evaluation starts again at the base model.
    pub fn toggle_play(&mut self) {
        self.playing = !self.playing;
        if self.playing && self.shown + 1 >= self.watched.len() {
            self.shown = 0;
        }
    }

    /// One frame of the animation: the next evaluation; at the last one it
    /// stops, unless more are coming. Whether anything changed.
    pub fn tick(&mut self, more_coming: bool) -> bool {
        if !self.playing {
            return false;
        }
        if self.shown + 1 < self.watched.len() {
            self.shown += 1;
        } else if !more_coming {
            self.playing = false;
        } else {
            return false;
        }
        true
    }
}

#[derive(Default)]
pub struct Results {
    finished: BTreeMap<Experiment, Finished>,
    live: BTreeMap<Experiment, Live>,
}

impl Results {
    /// A run of `e` starts: its old result goes; `live` follows its steps.
    pub fn start(&mut self, e: Experiment, live: Option<Live>) {
        self.finished.remove(&e);
        match live {
            Some(l) => self.live.insert(e, l),
            None => self.live.remove(&e),
        };
    }

    pub fn finished(&self, e: Experiment) -> Option<&Finished> {
        self.finished.get(&e)
    }

    pub fn live(&self, e: Experiment) -> Option<&Live> {
        self.live.get(&e)
    }

    pub fn live_mut(&mut self, e: Experiment) -> Option<&mut Live> {
        self.live.get_mut(&e)
    }

    /// The exports of the experiment's finished run.
    pub fn exports(&self, e: Experiment) -> Option<&Exports> {
        self.finished(e).map(|f| &f.exports)
    }

    pub fn has(&self, e: Experiment) -> bool {
        self.finished.contains_key(&e)
    }

    /// Stores a result message of the job running for `running`. Returns
    /// `Ok(true)` when the job ended, `Ok(false)` for a streamed result,
    /// and gives back a message that is not a result.
    pub fn accept(&mut self, running: Option<Experiment>, msg: FromWorker) -> Result<bool, Box<FromWorker>> {
        match msg {
            FromWorker::TrainEval { step, kl_to_closed_form, watched, .. } => {
                if let Some(live) = running.and_then(|e| self.live.get_mut(&e)) {
                    live.steps.push(step);
                    live.kl_closed_form.extend(kl_to_closed_form);
                    if let Some(w) = watched {
                        live.watched.push(w);
                        if !live.playing {
                            live.shown = live.watched.len() - 1;
                        }
                    }
                }
                Ok(false)
            }
            FromWorker::Done { experiment, outcome, exports } => {
                self.finished.insert(experiment, Finished { outcome: *outcome, exports });
                Ok(true)
            }
            other => Err(Box::new(other)),
        }
    }
}
