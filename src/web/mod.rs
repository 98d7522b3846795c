//! The thin browser layer (wasm32 only): the worker moves bytes and messages
//! to `app::jobs` and picks the backend; the page feeds DOM events to
//! `ui::page_state` and carries its effects out.

pub mod dom;
pub mod gpu_worker;
pub mod page;
pub mod page_render;
pub mod worker;
