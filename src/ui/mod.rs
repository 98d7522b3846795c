//! Everything the page shows, as pure Rust: the parameters and their URL form,
//! the controls, the result views, the SVG charts, the exports and the worker
//! protocol. No web code here (the thin wasm layer is `src/web/`), so all of it
//! is tested natively.

pub mod backend;
pub mod bar_chart;
pub mod controls;
pub mod export;
pub mod html;
pub mod jobs;
pub mod jobs_lora;
pub mod jobs_theory;
pub mod line_chart;
pub mod params;
pub mod protocol;
pub mod svg;
pub mod url;
pub mod view_bon;
pub mod view_explore;
pub mod view_lora;
pub mod view_efficiency;
pub mod view_training;
pub mod view_theory;
