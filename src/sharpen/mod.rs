//! Sharpening, inference-time and by fine-tuning, and the exact metrics.

pub mod bon;
pub mod card;
pub mod exact;
pub mod metrics;
pub mod sft;
pub mod train_step;

pub use bon::{run_bon, BonParams, BonReport};
pub use exact::{enumerate, Distribution};
pub use sft::{run_sft, SftParams, SftReport};
