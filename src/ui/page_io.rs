//! What goes into the page's update function (`page_state`) and what comes
//! out of it: the inputs (worker messages, buttons, controls, the hash) and
//! the effects the browser layer carries out.

use super::params::Key;
use super::user_files::Picked;
use crate::app::protocol::{FromWorker, ToWorker};

use crate::app::Experiment;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Loading,
    Ready,
    Running,
    Done,
    Error,
}

impl Status {
    /// The `data-status` attribute of the page's body.
    pub fn attr(self) -> &'static str {
        match self {
            Status::Loading => "loading",
            Status::Ready => "ready",
            Status::Running => "running",
            Status::Done => "done",
            Status::Error => "error",
        }
    }
}

/// What happened. (One at a time, handled at once and never stored: the
/// worker's message is not boxed for the sake of the small variants.)
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Input {

    Worker(FromWorker),
    /// The worker failed to run at all (its error event).
    WorkerCrashed(String),
    /// Run the current view's experiment, with every visible control's value.
    Run(Vec<(Key, String)>),
    Cancel,
    Bench,
    /// "Forget downloaded models".
    ForgetModels,
    /// A tab was chosen.
    View(Experiment),
    /// A control changed to this value.
    Control(Key, String),
    /// The user edited the URL hash.
    Hash(String),
    /// Model files were chosen with the picker (they stay in the browser layer).
    FileChosen,
    /// Files a picker chose were read: (name, bytes) each.
    FilesRead(Picked, Vec<(String, Vec<u8>)>),
    /// Something the browser layer could not do (read a file, ...).
    Failed(String),
    /// The morph chart's slider moved.
    Morph(usize),
    /// Play / Pause of the morph chart.
    Play,
    /// The animation clock (a few times a second).
    Tick,
    /// Open lesson step `k` (0: leave the lesson).
    Lesson(usize),
    /// Apply URL-style settings over the current ones (a lesson's button).
    Settings(String),
}

/// Which part of the page to draw again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    All,
    Chrome,
    Results,
    Progress,
    Morph,
}

/// What the browser layer does.
#[derive(Debug)]
pub enum Effect {
    /// Post to the worker; a `Command::LoadFiles` carries the picked files.
    Post(ToWorker),
    /// Terminate the worker and start a fresh one (it says `Started`).
    RestartWorker,
    /// Write the state into the URL hash (and the share fields).
    WriteHash,
    /// Set a control's field to its canonical value.
    ShowValue(Key, String),
    Render(Part),
    /// A job was posted (the browser times it).
    RunStarted,
    /// A job ended (the browser records how long it took).
    RunEnded,
    /// The first model is ready (the browser records when).
    FirstReady,
}

