//! The native test suite, one integration-test crate (one binary to build
//! and link instead of one per file: each linked candle, wgpu and
//! tokenizers). A module per subject, as the files were before; the shared
//! helpers are `common`. `cargo test --test suite MODULE::` runs one module.
//! The soak (`tests/soak.rs`) stays a binary of its own: it counts the
//! heap with its own global allocator, so nothing may allocate beside it.

mod architecture;
mod builtin_models;
mod charts;
mod cli;
mod common;
mod complexity;
mod coverage;
mod download;
mod echo;
mod exact;
mod forward;
mod fuzz_smoke;
mod golden;
mod gpu;
mod gpu_fallback;
mod gpu_passes;
mod hf_folder;
mod lesson;
mod lock;
mod locked_page;
mod lora;
mod margin;
mod page_jobs;
mod page_state;
mod prompt_sets;
mod q8;
mod q8_model;
mod real_lora;
mod real_model;
mod rewards;
mod rlhf;
mod rng;
mod robust;
mod sampling;
mod sharpen;
mod tokenizer;
mod ui_state;
