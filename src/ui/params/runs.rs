//! The page's parameters as the run parameters the CLI uses too (the same
//! structs, CLI defaults for everything the page does not set).

use super::{Key, UiState};
use crate::app::protocol::TheoryParams;
use crate::reward::Reward;
use crate::sample::SampleSettings;
use crate::sharpen::complexity::ComplexityParams;
use crate::app::protocol::Job;
use crate::sharpen::coverage::CoverageParams;
use crate::sharpen::coverage_lm::LmCoverageParams;
use crate::sharpen::linear::Structure;
use crate::sharpen::efficiency::EfficiencyParams;
use crate::sharpen::margin::MarginParams;
use crate::sharpen::explore::ExploreParams;
use crate::sharpen::{BonParams, RlhfParams, SftParams};

impl UiState {
    pub fn sampling(&self, max_new_tokens: usize) -> SampleSettings {
        SampleSettings { temperature: self.num(Key::Temperature), top_k: self.num(Key::TopK), top_p: self.num(Key::TopP), max_new_tokens }
    }

    /// A list parameter's values.
    fn list<T: std::str::FromStr>(&self, key: Key) -> Vec<T> {
        self.get(key).split(',').filter_map(|v| v.parse().ok()).collect()
    }

    fn rewards(&self) -> Vec<Reward> {
        Reward::parse_list(self.get(Key::Rewards)).unwrap_or_else(|_| Reward::ALL.to_vec())
    }

    pub fn explore_params(&self, max_new_tokens: usize) -> ExploreParams {
        ExploreParams {
            prompt: self.get(Key::Prompt).to_string(),
            n: self.num(Key::Samples),
            sampling: self.sampling(max_new_tokens),
            seed: self.seed(),
            ..ExploreParams::default()
        }
    }

    /// Best-of-N parameters: CLI defaults for everything the page does not set.
    pub fn bon_params(&self, max_new_tokens: usize) -> BonParams {
        BonParams {
            n: self.list(Key::N),
            prompts: self.num(Key::Prompts),
            rewards: self.rewards(),
            sampling: self.sampling(max_new_tokens),
            seed: self.seed(),
            ..BonParams::default()
        }
    }

    pub fn sft_params(&self, max_new_tokens: usize) -> SftParams {
        SftParams {
            prompts: self.num(Key::SftPrompts),
            n: self.num(Key::SftN),
            reward: Reward::parse(self.get(Key::Reward)).unwrap_or(Reward::Loglik),
            steps: self.num(Key::Steps),
            lr: self.num(Key::Lr),
            batch: self.num(Key::Batch),
            eval_every: self.num(Key::EvalEvery),
            delta: self.num(Key::Delta),
            gamma: self.num(Key::Gamma),
            sampling: self.sampling(max_new_tokens),
            seed: self.seed(),
            ..SftParams::default()
        }
    }

    pub fn rlhf_params(&self, max_new_tokens: usize) -> RlhfParams {
        RlhfParams {
            prompts: self.num(Key::RlhfPrompts),
            beta: self.num(Key::Beta),
            steps: self.num(Key::RlhfSteps),
            lr: self.num(Key::RlhfLr),
            pairs: self.num(Key::Pairs),
            online: self.get(Key::Mode) == "online",
            alpha: self.num(Key::Alpha),
            delta: self.num(Key::Delta),
            gamma: self.num(Key::Gamma),
            eval_every: self.num(Key::EvalEvery),
            sampling: self.sampling(max_new_tokens),
            seed: self.seed(),
            ..RlhfParams::default()
        }
    }

    pub fn theory_params(&self) -> TheoryParams {
        TheoryParams { prompt: self.get(Key::Prompt).to_string(), beta: self.num(Key::Beta), scan: self.num(Key::Scan), gap_prompts: self.num(Key::GapPrompts), seed: self.seed() }
    }

    pub fn efficiency_params(&self) -> EfficiencyParams {
        EfficiencyParams {
            prompts: self.num(Key::EffPrompts),
            sft_n: self.list(Key::SftNs),
            sft_steps: self.num(Key::EffSftSteps),
            rlhf_steps: self.num(Key::EffRlhfSteps),
            beta: self.num(Key::Beta),
            gamma: self.num(Key::Gamma),
            seed: self.seed(),
        }
    }

    pub fn complexity_params(&self) -> ComplexityParams {
        ComplexityParams {
            prompts: self.num(Key::CxPrompts),
            eps: self.list(Key::CxEps),
            delta: self.list(Key::CxDelta),
            gamma: self.num(Key::Gamma),
            sft_n: self.list(Key::CxSftNs),
            sft_prompts: self.list(Key::CxSftPrompts),
            sft_steps: self.num(Key::CxSteps),
            seed: self.seed(),
            ..ComplexityParams::default()
        }
    }

    pub fn margin_params(&self) -> MarginParams {
        MarginParams {
            prompts: self.num(Key::MarginPrompts),
            delta: self.num(Key::Delta),
            eps: self.num(Key::MarginEps),
            betas: self.list(Key::MarginBetas),
            train_betas: self.list(Key::MarginTrainBetas),
            rlhf_steps: self.num(Key::MarginSteps),
            seed: self.seed(),
            ..MarginParams::default()
        }
    }

    pub fn coverage_params(&self) -> CoverageParams {
        CoverageParams {
            structure: Structure::parse(self.get(Key::CovStructure)).unwrap_or(Structure::Lock),
            d: self.num(Key::CovD),
            beta: self.num(Key::CovBeta),
            delta: self.num(Key::Delta),
            budgets: self.list(Key::CovBudgets),
            sft_n: self.list(Key::CovSftNs),
            alphas: self.list(Key::CovAlphas),
            seed: self.seed(),
            ..CoverageParams::default()
        }
    }

    /// The coverage job: on Example J.1's class or on the task's transformer.
    pub fn coverage_job(&self) -> Job {
        if self.get(Key::CovOn) != "model" {
            return Job::Coverage(self.coverage_params());
        }
        Job::CoverageLm(LmCoverageParams {
            prompts: self.num(Key::CovPrompts),
            beta: self.num(Key::CovBeta),
            delta: self.num(Key::Delta),
            budgets: self.list(Key::CovLmBudgets),
            sft_n: self.list(Key::CovLmSftNs),
            alphas: self.list(Key::CovAlphas),
            seed: self.seed(),
            seeds: self.num(Key::CovSeeds),
            ..LmCoverageParams::default()
        })
    }
}
