//! The thin browser layer (wasm32 only): the worker moves bytes and messages
//! to `ui::jobs`, the page moves events and HTML between the DOM and `ui`.

pub mod dom;
pub mod gpu_worker;
pub mod page;
pub mod page_render;
pub mod results;
pub mod worker;
