//! The experiments, spelled once: the key the URL, the worker messages and
//! the exports' command use, and the title the page shows. The page's
//! registry (`ui::experiments`) gives each its parameters, job and view.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Experiment {
    Explore,
    Bon,
    Sft,
    Rlhf,
    Theory,
    Efficiency,
}

impl Experiment {
    pub const ALL: [Experiment; 6] = [Experiment::Explore, Experiment::Bon, Experiment::Sft, Experiment::Rlhf, Experiment::Theory, Experiment::Efficiency];

    /// The URL key, also the `sharpen` subcommand whose `--json` the export equals.
    pub const fn key(self) -> &'static str {
        match self {
            Experiment::Explore => "explore",
            Experiment::Bon => "bon",
            Experiment::Sft => "sft",
            Experiment::Rlhf => "rlhf",
            Experiment::Theory => "theory",
            Experiment::Efficiency => "efficiency",
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
            Experiment::Explore | Experiment::Bon | Experiment::Sft => None,
        }
    }
}
