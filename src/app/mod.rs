//! The application layer between the core and the page: a loaded
//! [`session::Session`], the worker's typed protocol ([`protocol`]: commands
//! apart from experiment jobs), the experiments' jobs ([`jobs`]: run the core
//! with progress through the decoding seam, build the exports), the backend
//! rule shared by the CLI and the page ([`backend`]) and the export formats
//! ([`export`]). No web code: it runs natively in the tests and in the
//! browser's Web Worker (`web::worker` only moves bytes and messages).

pub mod backend;
pub mod download;
pub mod experiment;
pub mod export;
pub mod jobs;
pub mod protocol;
pub mod session;

pub use experiment::Experiment;
