//! Sharpening, inference-time and by fine-tuning, and the exact metrics.

pub mod bon;
pub mod card;
pub mod closed_form;
pub mod complexity;
pub mod coverage;
pub mod coverage_lm;
pub mod coverage_sweep;
pub mod efficiency;
pub mod eval;
pub mod exact;
pub mod gap;
pub mod linear;
pub mod lora_sft;
pub mod margin;
pub mod metrics;
pub mod rlhf;
pub mod sft;
pub mod train_step;

pub mod explore;

pub use bon::{run_bon, run_bon_full, run_bon_on, BonParams, BonReport, BonRun};
pub use exact::{enumerate, enumerate_sampled, Distribution};
pub use rlhf::{run_rlhf, run_rlhf_observed, RlhfParams, RlhfReport};
pub use explore::{explore, ExploreReport};
pub use sft::{run_sft, run_sft_observed, SftParams, SftReport, SftRun};
