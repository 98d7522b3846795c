//! Everything the page shows, as pure Rust: the parameters and their URL
//! form, the controls, the page's state and its update function, the
//! registry of experiments, the result views and the SVG charts. No web code
//! here (the thin wasm layer is `src/web/`), so all of it is tested natively.

pub mod bar_chart;
pub mod controls;
pub mod experiments;
pub mod glossary;
pub mod html;
pub mod lesson;
pub mod lesson_steps;
pub mod line_chart;
pub mod page_io;
pub mod page_state;
pub mod params;
pub mod results;
pub mod screen;
pub mod svg;
pub mod url;
pub mod user_files;
pub mod view_bon;
pub mod view_complexity;
pub mod view_coverage;
pub mod view_efficiency;
pub mod view_explore;
pub mod view_lora;
pub mod view_margin;
pub mod view_theory;
pub mod view_training;
