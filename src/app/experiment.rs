//! The worker side's registry of experiments: each one's key (the URL, the
//! worker messages and the exports' command use it) and title, its job's
//! parameters ([`Job`]) and what it reports ([`Outcome`]). A job runs in
//! `app::jobs::<experiment>`; the page's registry (`ui::experiments`) gives
//! each experiment its controls' job and its view.

use serde::{Deserialize, Serialize};

use crate::sharpen::closed_form::ClosedFormReport;
use crate::sharpen::complexity::{ComplexityParams, ComplexityReport};
use crate::sharpen::coverage::{CoverageParams, CoverageReport};
use crate::sharpen::coverage_lm::{LmCoverageParams, LmCoverageReport};
use crate::sharpen::efficiency::{EfficiencyParams, EfficiencyReport};
use crate::sharpen::explore::{ExploreParams, ExploreReport};
use crate::sharpen::gap::GapReport;
use crate::sharpen::lora_sft::LoraReport;
use crate::sharpen::margin::{MarginParams, MarginReport};
use crate::sharpen::{BonParams, BonReport, RlhfParams, RlhfReport, SftParams, SftReport};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Experiment {
    Explore,
    Bon,
    Sft,
    Rlhf,
    Theory,
    Efficiency,
    Complexity,
    Margin,
    Coverage,
}

impl Experiment {
    pub const ALL: [Experiment; 9] = [
        Experiment::Explore,
        Experiment::Bon,
        Experiment::Sft,
        Experiment::Rlhf,
        Experiment::Theory,
        Experiment::Efficiency,
        Experiment::Complexity,
        Experiment::Margin,
        Experiment::Coverage,
    ];

    /// The URL key, also the `sharpen` subcommand whose `--json` the export equals.
    pub const fn key(self) -> &'static str {
        match self {
            Experiment::Explore => "explore",
            Experiment::Bon => "bon",
            Experiment::Sft => "sft",
            Experiment::Rlhf => "rlhf",
            Experiment::Theory => "theory",
            Experiment::Efficiency => "efficiency",
            Experiment::Complexity => "complexity",
            Experiment::Margin => "margin",
            Experiment::Coverage => "coverage",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Experiment::Explore => "Prompt explorer",
            Experiment::Bon => "Best-of-N sweep",
            Experiment::Sft => "SFT-Sharpening",
            Experiment::Rlhf => "RLHF-Sharpening",
            Experiment::Theory => "Closed form & gap",
            Experiment::Efficiency => "Sample efficiency",
            Experiment::Complexity => "Sample complexity",
            Experiment::Margin => "Coverage vs margin",
            Experiment::Coverage => "Coverage vs exploration",
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.key() == key)
    }

    /// What it is called when it is refused on free-text answers (it needs
    /// exact answer distributions), or None when it runs on any task.
    pub fn needs_exact(self) -> Option<&'static str> {
        match self {
            Experiment::Rlhf => Some("RLHF-Sharpening"),
            Experiment::Theory => Some("the closed form and the generation-verification gap"),
            Experiment::Efficiency => Some("the sample-efficiency comparison"),
            Experiment::Complexity => Some("the sample-complexity experiment"),
            Experiment::Margin => Some("the coverage-vs-margin experiment"),
            Experiment::Explore | Experiment::Bon | Experiment::Sft | Experiment::Coverage => None,
        }
    }
}

/// An experiment run, or a speed measurement.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Job {
    Explore(ExploreParams),
    Bon(BonParams),
    /// SFT-Sharpening; `watch` = the prompt whose distribution is followed
    /// ("" = the first training prompt whose `y*` is wrong).
    Sft { params: SftParams, watch: String },
    /// RLHF-Sharpening; `watch` as for SFT.
    Rlhf { params: RlhfParams, watch: String },
    /// The closed form vs token temperature for one prompt, and the task's
    /// generation-verification gap.
    Theory(TheoryParams),
    /// SFT- vs RLHF-Sharpening sample efficiency.
    Efficiency(EfficiencyParams),
    /// Samples needed for `(eps, delta)`: best-of-N, SFT, Thm 4.1 and 3.1.
    Complexity(ComplexityParams),
    /// The closed form over beta against each prompt's margin.
    Margin(MarginParams),
    /// Coverage vs exploration on Example J.1's classes (no transformer).
    Coverage(CoverageParams),
    /// Coverage vs exploration on the task's transformer.
    CoverageLm(LmCoverageParams),
    /// Measure sampling (built-in) or decoding (real model) speed, as `sharpen bench` does.
    Bench,
}

impl Job {
    /// The experiment this job runs (None for the speed measurement).
    pub fn experiment(&self) -> Option<Experiment> {
        Some(match self {
            Job::Explore(_) => Experiment::Explore,
            Job::Bon(_) => Experiment::Bon,
            Job::Sft { .. } => Experiment::Sft,
            Job::Rlhf { .. } => Experiment::Rlhf,
            Job::Theory(_) => Experiment::Theory,
            Job::Efficiency(_) => Experiment::Efficiency,
            Job::Complexity(_) => Experiment::Complexity,
            Job::Margin(_) => Experiment::Margin,
            Job::Coverage(_) | Job::CoverageLm(_) => Experiment::Coverage,
            Job::Bench => return None,
        })
    }
}

/// Parameters of the theory view.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TheoryParams {
    pub prompt: String,
    pub beta: f64,
    /// Prompts scanned for greedy misses and token-temperature distances.
    pub scan: usize,
    /// Prompts of the generation-verification gap.
    pub gap_prompts: usize,
    pub seed: u64,
}

/// What a finished experiment reports.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Outcome {
    Explore(ExploreReport),
    Bon(BonReport),
    Sft(SftReport),
    /// SFT-Sharpening of a real model with LoRA adapters.
    Lora(LoraReport),
    Rlhf(RlhfReport),
    Theory { closed: ClosedFormReport, gap: GapReport },
    Efficiency(EfficiencyReport),
    Complexity(ComplexityReport),
    Margin(MarginReport),
    Coverage(CoverageReport),
    CoverageLm(LmCoverageReport),
}

impl Outcome {
    pub fn experiment(&self) -> Experiment {
        match self {
            Outcome::Explore(_) => Experiment::Explore,
            Outcome::Bon(_) => Experiment::Bon,
            Outcome::Sft(_) | Outcome::Lora(_) => Experiment::Sft,
            Outcome::Rlhf(_) => Experiment::Rlhf,
            Outcome::Theory { .. } => Experiment::Theory,
            Outcome::Efficiency(_) => Experiment::Efficiency,
            Outcome::Complexity(_) => Experiment::Complexity,
            Outcome::Margin(_) => Experiment::Margin,
            Outcome::Coverage(_) | Outcome::CoverageLm(_) => Experiment::Coverage,
        }
    }
}
