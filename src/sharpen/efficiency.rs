//! Sample efficiency of SFT- vs RLHF-Sharpening (arXiv 2412.01951, Sec. 4):
//! `pi(y*)` and the sharpened share against the number of samples drawn from
//! `pi_base`. SFT-Sharpening with `N` samples per prompt spends `n N` samples
//! up front and only helps on prompts where `y*` shows up among them (coverage,
//! `C_cov`); RLHF-Sharpening spends 2 per pair but relies on the margin between
//! the best and second-best answers. Same prompts, same seed, exact metrics.

use serde::{Deserialize, Serialize};

use super::bon::Progress;
use super::rlhf::{run_rlhf_observed, RlhfParams};
use super::sft::{run_sft_observed, SftParams};
use crate::error::{param_err, Result};
use crate::model::Model;
use crate::tasks::Task;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EfficiencyParams {
    pub prompts: usize,
    /// SFT-Sharpening runs, one per N.
    pub sft_n: Vec<usize>,
    pub sft_steps: usize,
    pub rlhf_steps: usize,
    pub beta: f64,
    /// `gamma` of Def. F.1 for the sharpened share (0 = `y*`).
    #[serde(default)]
    pub gamma: f64,
    pub seed: u64,
}

impl Default for EfficiencyParams {
    fn default() -> Self {
        Self { prompts: 32, sft_n: vec![1, 2, 4, 8, 16], sft_steps: 100, rlhf_steps: 150, beta: 1.0, gamma: 0.0, seed: 0 }
    }
}

/// One point: metrics after spending `samples` draws from `pi_base`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EfficiencyPoint {
    pub samples: usize,
    pub p_star: f64,
    pub sharpened: f64,
    pub accuracy: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SftPoint {
    pub n: usize,
    #[serde(flatten)]
    pub point: EfficiencyPoint,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EfficiencyReport {
    pub prompts: usize,
    /// `gamma` of the sharpened share (Def. F.1; 0 = Def. 3.1 on `y*`).
    #[serde(default)]
    pub gamma: f64,
    pub c_cov: f64,
    /// Base model's mean `pi(y*)` (the starting point of every curve).
    pub p_star_base: f64,
    /// Final metrics of each SFT-Sharpening run.
    pub sft: Vec<SftPoint>,
    /// RLHF-Sharpening (offline pairs, N = 2) at every evaluation.
    pub rlhf: Vec<EfficiencyPoint>,
}

pub fn run_efficiency(base: &Model, task: &dyn Task, p: &EfficiencyParams, progress: Progress) -> Result<EfficiencyReport> {
    if p.sft_n.is_empty() || p.sft_n.len() > 8 || p.sft_n.iter().any(|&n| n == 0 || n > 256) {
        return param_err("SFT sample counts: 1 to 8 values, each in 1..=256");
    }
    let total = p.sft_n.len() * p.sft_steps + p.rlhf_steps;
    let mut done = 0usize;
    let mut sft = Vec::new();
    for &n in &p.sft_n {
        let sp = SftParams { prompts: p.prompts, n, steps: p.sft_steps, eval_every: p.sft_steps.max(1), gamma: p.gamma, seed: p.seed, ..SftParams::default() };
        let r = run_sft_observed(base, task, &sp, &mut |d, t| progress(done + d.saturating_sub(t - sp.steps), total), &mut |_, _| Ok(()))?;
        done += p.sft_steps;
        let last = r.report.steps.last().expect("step 0 is always evaluated");
        sft.push(SftPoint {
            n,
            point: EfficiencyPoint { samples: p.prompts * n, p_star: last.p_star, sharpened: last.sharpened, accuracy: last.accuracy },
        });
    }
    let rp = RlhfParams { prompts: p.prompts, beta: p.beta, steps: p.rlhf_steps, gamma: p.gamma, seed: p.seed, ..RlhfParams::default() };
    let mut rlhf = Vec::new();
    let r = run_rlhf_observed(base, task, &rp, &mut |d, _| progress(done + d, total), &mut |s, _| {
        rlhf.push(EfficiencyPoint { samples: s.samples_drawn, p_star: s.metrics.p_star, sharpened: s.metrics.sharpened, accuracy: s.metrics.accuracy });
        Ok(())
    })?;
    progress(total, total);
    Ok(EfficiencyReport { prompts: r.prompts, gamma: p.gamma, c_cov: r.c_cov, p_star_base: rlhf.first().map_or(f64::NAN, |x| x.p_star), sft, rlhf })
}
