//! The registry of experiments: one row each, with the job the page's
//! parameters ask for, whether its results stream in, its view and what the
//! view says before a run. Adding an experiment = its core module
//! (`sharpen/`), its job (`app/jobs/`), its view (`ui/view_*.rs`) and a row
//! here (see ARCHITECTURE.md).

use super::html::{downloads, para};
use super::params::{Key, UiState};
use super::results::{Finished, Live, Results};
use super::view_bon::bon_html;
use super::view_complexity::complexity_html;
use super::view_coverage::{coverage_html, coverage_lm_html};
use super::view_efficiency::efficiency_html;
use super::view_explore::explore_html;
use super::view_lora::lora_html;
use super::view_margin::margin_html;
use super::view_theory::theory_html;
use super::view_training::{rlhf_summary, training_html, uncertified_note, TrainingView};
use crate::app::protocol::{Job, ModelInfo, Outcome};
use crate::app::Experiment;
use crate::sharpen::eval::Target;

pub struct Entry {
    pub experiment: Experiment,
    /// The job the page's parameters ask for, given the loaded model.
    pub job: fn(&UiState, &ModelInfo) -> Job,
    /// What the view shows: the finished run, or the run streaming in
    /// (`stamp`: the provenance line of a run not yet finished).
    pub view: fn(&Results, &str) -> Option<String>,
    /// What the view says before a run (`real`: a real model is loaded).
    pub placeholder: fn(real: bool) -> &'static str,
    /// The controls shown at once; the view's others are under "More settings".
    pub main: &'static [Key],
}

pub const EXPERIMENTS: [Entry; Experiment::ALL.len()] = [
    Entry {
        experiment: Experiment::Explore,
        job: |ui, m| Job::Explore(ui.explore_params(m.max_new_tokens)),
        view: |r, _| finished(r, Experiment::Explore, |o, stamp| match o {
            Outcome::Explore(x) => Some(explore_html(x, stamp)),
            _ => None,
        }),
        placeholder: |_| "Pick a prompt and press Run to sample answers.",
        main: &[Key::Prompt, Key::Samples],
    },
    Entry {
        experiment: Experiment::Bon,
        job: |ui, m| Job::Bon(ui.bon_params(m.max_new_tokens)),
        view: |r, _| finished(r, Experiment::Bon, |o, stamp| match o {
            Outcome::Bon(x) => Some(bon_html(x, stamp)),
            _ => None,
        }),
        placeholder: |_| "Press Run to sweep best-of-N over the prompts (a few seconds).",
        main: &[Key::N, Key::Prompts, Key::Rewards],
    },
    Entry {
        experiment: Experiment::Sft,
        job: |ui, m| Job::Sft { params: ui.sft_params(m.max_new_tokens), watch: ui.get(Key::Watch).to_string() },
        view: |r, stamp| match r.finished(Experiment::Sft) {
            Some(Finished { outcome: Outcome::Lora(x), exports }) => {
                Some(format!("{}{}", lora_html(x, &exports.stamp), downloads(exports)))
            }
            _ => training(r, Experiment::Sft, stamp),
        },
        placeholder: |real| {
            if real {
                "Press Run to train low-rank adapters (LoRA) on this model's own best-of-N answers and compare it before and after (a few minutes with the defaults: each step takes seconds here)."
            } else {
                "Press Run to fine-tune a copy of the model on its own best-of-N answers and watch it sharpen."
            }
        },
        main: &[Key::SftN, Key::Steps, Key::Reward, Key::Watch],
    },
    Entry {
        experiment: Experiment::Rlhf,
        job: |ui, m| Job::Rlhf { params: ui.rlhf_params(m.max_new_tokens), watch: ui.get(Key::Watch).to_string() },
        view: |r, stamp| training(r, Experiment::Rlhf, stamp),
        placeholder: |_| "Press Run to train a copy of the model by RLHF-Sharpening (Eq. 8) and watch it approach the closed form pi_base^(1+1/beta) (about a minute with the defaults).",
        main: &[Key::Beta, Key::Mode, Key::Alpha, Key::RlhfSteps],
    },
    Entry {
        experiment: Experiment::Theory,
        job: |ui, _| Job::Theory(ui.theory_params()),
        view: |r, _| finished(r, Experiment::Theory, |o, stamp| match o {
            Outcome::Theory { closed, gap } => Some(theory_html(closed, gap, stamp)),
            _ => None,
        }),
        placeholder: |_| "Press Run to compare the closed-form optimum with token-level temperature for the prompt, and to measure the task's generation-verification gap (a few seconds).",
        main: &[Key::Prompt, Key::Beta],
    },
    Entry {
        experiment: Experiment::Efficiency,
        job: |ui, _| Job::Efficiency(ui.efficiency_params()),
        view: |r, _| finished(r, Experiment::Efficiency, |o, stamp| match o {
            Outcome::Efficiency(x) => Some(efficiency_html(x, stamp)),
            _ => None,
        }),
        placeholder: |_| "Press Run to train SFT-Sharpening at several N and RLHF-Sharpening with N = 2 on the same prompts and compare pi(y*) per sample drawn (a few minutes).",
        main: &[Key::SftNs, Key::Beta],
    },
    Entry {
        experiment: Experiment::Complexity,
        job: |ui, _| Job::Complexity(ui.complexity_params()),
        view: |r, _| finished(r, Experiment::Complexity, |o, stamp| match o {
            Outcome::Complexity(x) => Some(complexity_html(x, stamp)),
            _ => None,
        }),
        placeholder: |_| "Press Run to find, for each (eps, delta), the N best-of-N needs (exact), the cheapest SFT-Sharpening run of a grid that gets there, and the theorems' bounds (about a minute with the defaults).",
        main: &[Key::CxEps, Key::CxDelta],
    },
    Entry {
        experiment: Experiment::Margin,
        job: |ui, _| Job::Margin(ui.margin_params()),
        view: |r, _| finished(r, Experiment::Margin, |o, stamp| match o {
            Outcome::Margin(x) => Some(margin_html(x, stamp)),
            _ => None,
        }),
        placeholder: |_| "Press Run to sweep the closed form pi_base^(1+1/beta) over beta, see each prompt's margin against the beta it needs, and train RLHF-Sharpening at a few beta beside it (about a minute with the defaults; RLHF steps 0 = the closed form only, instant).",
        main: &[Key::MarginBetas, Key::MarginTrainBetas],
    },
    Entry {
        experiment: Experiment::Coverage,
        job: |ui, _| ui.coverage_job(),
        view: |r, _| finished(r, Experiment::Coverage, |o, stamp| match o {
            Outcome::Coverage(x) => Some(coverage_html(x, stamp)),
            Outcome::CoverageLm(x) => Some(coverage_lm_html(x, stamp)),
            _ => None,
        }),
        placeholder: |_| "Press Run to pit SFT-Sharpening and offline RLHF (coverage) against Alg. 1's online exploration on Example J.1's linear-softmax class, where y* has probability about 2^-d under the base model (a second with the lock features; the cube takes longer). It trains its own small models, not the task's transformer. Run on = model runs the same comparison on the task's transformer instead, every method with the same number of Adam steps, over 3 seeds (Task lock: C_cov in the hundreds; many minutes in a page: set Transformer: seeds to 1 and alpha to 0 for a quicker look).",
        main: &[Key::CovOn, Key::CovD, Key::CovAlphas],
    },
];

pub fn entry(e: Experiment) -> &'static Entry {
    EXPERIMENTS.iter().find(|x| x.experiment == e).expect("every experiment has a registry row")
}

/// The live run a job streams into (a training run on a built-in model;
/// a real model trains LoRA adapters, without live exact curves), or None
/// when the result comes at the end.
pub fn live_for(job: &Job, m: &ModelInfo) -> Option<Live> {
    match job {
        Job::Sft { params, .. } if !m.real => Some(Live::new(params.steps, Target { delta: params.delta, gamma: params.gamma })),
        Job::Rlhf { params, .. } => Some(Live::new(params.steps, Target { delta: params.delta, gamma: params.gamma })),
        _ => None,
    }
}

/// A finished run's view, with its export buttons.
fn finished(r: &Results, e: Experiment, html: impl Fn(&Outcome, &str) -> Option<String>) -> Option<String> {
    let f = r.finished(e)?;
    Some(format!("{}{}", html(&f.outcome, &f.exports.stamp)?, downloads(&f.exports)))
}

/// The training view of the SFT or RLHF run streaming in (or finished).
pub fn training_view<'a>(r: &'a Results, e: Experiment, stamp: &'a str) -> Option<TrainingView<'a>> {
    let live = r.live(e)?;
    let f = r.finished(e);
    let (summary, wrong_mode) = match f.map(|f| &f.outcome) {
        Some(Outcome::Sft(report)) => (
            Some(format!(
                "Training set: {} best-of-N answers, {:.3} of them correct by the oracle; {} marked prompts; {} prompts whose y* is wrong.{}",
                report.dataset_size,
                report.dataset_accuracy,
                report.marked_prompts,
                report.wrong_mode_prompts,
                uncertified_note(report.uncertified_prompts)
            )),
            Some(report.wrong_mode.as_slice()),
        ),
        Some(Outcome::Rlhf(report)) => (Some(rlhf_summary(report)), Some(report.wrong_mode.as_slice())),
        _ => (None, None),
    };
    Some(TrainingView {
        steps: &live.steps,
        kl_closed_form: &live.kl_closed_form,
        watched: &live.watched,
        shown: live.shown,
        playing: live.playing,
        total_steps: live.total_steps,
        target: live.target,
        summary,
        wrong_mode,
        stamp: f.map_or(stamp, |f| f.exports.stamp.as_str()),
    })
}

fn training(r: &Results, e: Experiment, stamp: &str) -> Option<String> {
    let v = training_view(r, e, stamp)?;
    let mut o = String::new();
    if r.live(e).is_some_and(|l| l.cancelled) {
        o.push_str(&para("This run was cancelled: the curves stop where it was stopped."));
    }
    o.push_str(&training_html(&v));
    if let Some(f) = r.finished(e) {
        o.push_str(&downloads(&f.exports));
    }
    Some(o)
}
