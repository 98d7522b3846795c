//! What the page has received from the worker, per experiment: finished
//! reports with their exports, and training runs as they stream in.

use crate::sharpen::closed_form::ClosedFormReport;
use crate::sharpen::efficiency::EfficiencyReport;
use crate::sharpen::explore::ExploreReport;
use crate::sharpen::gap::GapReport;
use crate::sharpen::sft::{StepMetrics, WrongMode};
use crate::sharpen::lora_sft::LoraReport;
use crate::sharpen::BonReport;
use crate::ui::params::View;
use crate::ui::protocol::{Exports, FromWorker, Watched};

/// An SFT or RLHF run as it streams in.
pub struct Live {
    pub steps: Vec<StepMetrics>,
    /// RLHF: `KL(pi || pi*_beta)` per evaluation (empty for SFT).
    pub kl_closed_form: Vec<f64>,
    pub watched: Vec<Watched>,
    /// Which evaluation the morph chart shows.
    pub shown: usize,
    pub total_steps: usize,
    pub summary: Option<String>,
    pub wrong_mode: Option<Vec<WrongMode>>,
    pub exports: Option<Exports>,
    pub cancelled: bool,
}

impl Live {
    pub fn new(total_steps: usize) -> Self {
        Self {
            steps: vec![],
            kl_closed_form: vec![],
            watched: vec![],
            shown: 0,
            total_steps,
            summary: None,
            wrong_mode: None,
            exports: None,
            cancelled: false,
        }
    }
}

#[derive(Default)]
pub struct Results {
    pub explore: Option<(ExploreReport, Exports)>,
    pub bon: Option<(BonReport, Exports)>,
    pub sft: Option<Live>,
    /// SFT-Sharpening of a real model (LoRA), when finished.
    pub lora: Option<(LoraReport, Exports)>,
    pub rlhf: Option<Live>,
    pub theory: Option<(ClosedFormReport, GapReport, Exports)>,
    pub efficiency: Option<(EfficiencyReport, Exports)>,
}

impl Results {
    pub fn live(&self, v: View) -> Option<&Live> {
        match v {
            View::Sft => self.sft.as_ref(),
            View::Rlhf => self.rlhf.as_ref(),
            _ => None,
        }
    }

    pub fn live_mut(&mut self, v: View) -> Option<&mut Live> {
        match v {
            View::Sft => self.sft.as_mut(),
            View::Rlhf => self.rlhf.as_mut(),
            _ => None,
        }
    }

    /// The exports of the view's finished run.
    pub fn exports(&self, v: View) -> Option<&Exports> {
        match v {
            View::Explore => self.explore.as_ref().map(|e| &e.1),
            View::Bon => self.bon.as_ref().map(|e| &e.1),
            View::Sft if self.lora.is_some() => self.lora.as_ref().map(|e| &e.1),
            View::Sft | View::Rlhf => self.live(v).and_then(|l| l.exports.as_ref()),
            View::Theory => self.theory.as_ref().map(|e| &e.2),
            View::Efficiency => self.efficiency.as_ref().map(|e| &e.1),
        }
    }

    pub fn has(&self, v: View) -> bool {
        self.exports(v).is_some()
    }

    /// Stores a result message of the job running for view `running`.
    /// Returns `Some(finished)` for a message it took (`true` when the job
    /// ended), `None` for a message that is not a result.
    pub fn accept(&mut self, running: Option<View>, msg: FromWorker) -> Result<bool, FromWorker> {
        match msg {
            FromWorker::TrainEval { step, kl_to_closed_form, watched, .. } => {
                if let Some(live) = running.and_then(|v| self.live_mut(v)) {
                    live.steps.push(step);
                    live.kl_closed_form.extend(kl_to_closed_form);
                    if let Some(w) = watched {
                        live.watched.push(w);
                        live.shown = live.watched.len() - 1;
                    }
                }
                Ok(false)
            }
            FromWorker::Explored { report, exports } => {
                self.explore = Some((report, exports));
                Ok(true)
            }
            FromWorker::BonDone { report, exports } => {
                self.bon = Some((report, exports));
                Ok(true)
            }
            FromWorker::SftDone { report, exports } => {
                if let Some(live) = self.sft.as_mut() {
                    live.summary = Some(format!(
                        "Training set: {} best-of-N answers, {:.3} of them correct by the oracle; {} marked prompts; {} prompts whose y* is wrong.{}",
                        report.dataset_size, report.dataset_accuracy, report.marked_prompts, report.wrong_mode_prompts,
                        crate::ui::view_training::uncertified_note(report.uncertified_prompts)
                    ));
                    live.wrong_mode = Some(report.wrong_mode);
                    live.exports = Some(exports);
                }
                Ok(true)
            }
            FromWorker::LoraDone { report, exports } => {
                self.lora = Some((report, exports));
                Ok(true)
            }
            FromWorker::RlhfDone { report, exports } => {
                if let Some(live) = self.rlhf.as_mut() {
                    live.summary = Some(crate::ui::view_training::rlhf_summary(&report));
                    live.wrong_mode = Some(report.wrong_mode);
                    live.exports = Some(exports);
                }
                Ok(true)
            }
            FromWorker::TheoryDone { closed, gap, exports } => {
                self.theory = Some((closed, gap, exports));
                Ok(true)
            }
            FromWorker::EfficiencyDone { report, exports } => {
                self.efficiency = Some((report, exports));
                Ok(true)
            }
            other => Err(other),
        }
    }
}
