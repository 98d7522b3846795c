//! Sharpening, inference-time and by fine-tuning, and the exact metrics.

pub mod bon;
pub mod card;
pub mod exact;
pub mod metrics;
pub mod sft;
pub mod train_step;

pub mod explore;

pub use bon::{run_bon, run_bon_full, BonParams, BonReport, BonRun};
pub use exact::{enumerate, Distribution};
pub use explore::{explore, ExploreReport};
pub use sft::{run_sft, run_sft_observed, SftParams, SftReport, SftRun};
