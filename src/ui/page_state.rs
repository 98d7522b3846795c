//! The page's state and how it changes, as a pure function: an [`Input`]
//! (a worker message, a button, a control, the URL hash) updates the
//! [`PageState`] and returns the [`Effect`]s the browser layer carries out
//! (post to the worker, restart it, write the hash, redraw). Tested
//! natively (tests/suite/page_state.rs); `web::page` only moves events in and
//! effects out.

pub use super::page_io::{Effect, Input, Part, Status};
use super::experiments::{entry, live_for};
use super::lesson;
use super::params::{Key, UiState};
use super::results::Results;
use super::user_files::{Picked, UserFiles};
use crate::app::protocol::{Command, FromWorker, Job, ModelInfo, ToWorker};
use crate::app::Experiment;

mod cancel;

pub struct PageState {
    pub ui: UiState,
    pub status: Status,
    pub info: Option<ModelInfo>,
    pub results: Results,
    pub running: Option<Experiment>,
    pub progress: Option<(usize, usize, String)>,
    pub notices: Vec<String>,
    pub error: Option<String>,
    /// The last speed measurement, as a sentence.
    pub bench: Option<String>,
    /// Which backend runs and why (from the worker), None while it chooses.
    pub backend_note: Option<String>,
    /// Model files were chosen with the picker (used while the URL field is empty).
    pub has_file: bool,
    /// The user's own prompt set (task `custom`) and LoRA adapter.
    pub files: UserFiles,
    /// The user asked for reduced motion: no animation starts by itself.
    pub reduced_motion: bool,
    ready_once: bool,
}

impl PageState {
    /// The state a page opened at `hash` starts in.
    pub fn new(hash: &str) -> Self {
        let (ui, notices) = UiState::from_hash(hash);
        Self {
            ui,
            status: Status::Loading,
            info: None,
            results: Results::default(),
            running: None,
            progress: None,
            notices,
            error: None,
            bench: None,
            backend_note: None,
            has_file: false,
            files: UserFiles::default(),
            reduced_motion: false,
            ready_once: false,
        }
    }

    pub fn update(&mut self, input: Input) -> Vec<Effect> {
        let mut fx = Vec::new();
        match input {
            Input::Worker(msg) => self.message(msg, &mut fx),
            Input::WorkerCrashed(msg) => {
                let what = if self.running.is_some() { "The run stopped: the worker crashed" } else { "The worker crashed" };
                self.restart(&mut fx);
                self.fail(format!("{what} ({msg}). It has been restarted; the model is loading again."), &mut fx);
            }
            Input::Run(controls) => self.run(controls, &mut fx),
            Input::Cancel => self.cancel(&mut fx),
            Input::Bench => self.bench(&mut fx),
            Input::ForgetModels => fx.push(Effect::Post(ToWorker::Command(Command::ForgetModels))),
            Input::View(e) => {
                self.ui.set(Key::View, e.key());
                fx.push(Effect::WriteHash);
                if self.running.is_none() {
                    self.status = self.idle_status();
                }
                fx.push(Effect::Render(Part::All));
                self.autorun(&mut fx);
            }
            Input::Control(key, value) => self.control(key, &value, &mut fx),
            Input::Hash(hash) => self.hash(&hash, &mut fx),
            Input::FileChosen => {
                self.has_file = true;
                self.ui.set(Key::Model, "");
                fx.push(Effect::ShowValue(Key::Model, String::new()));
                fx.push(Effect::WriteHash);
                self.notices = vec!["A model from a file is not part of the link: whoever opens it chooses the file again.".into()];
                self.task_changed(&mut fx);
            }
            Input::FilesRead(picked, files) => self.files_read(picked, files, &mut fx),
            Input::Failed(message) => self.fail(message, &mut fx),
            Input::Morph(k) => {
                if let Some(live) = self.results.live_mut(self.ui.view()) {
                    live.shown = k;
                    live.playing = false;
                }
                fx.push(Effect::Render(Part::Morph));
            }
            Input::Play => {
                if let Some(live) = self.results.live_mut(self.ui.view()) {
                    live.toggle_play();
                }
                fx.push(Effect::Render(Part::Morph));
            }
            Input::Tick => {
                let (view, running) = (self.ui.view(), self.running);
                if self.results.live_mut(view).is_some_and(|l| l.tick(running == Some(view))) {
                    fx.push(Effect::Render(Part::Morph));
                }
            }
            Input::Lesson(k) => {
                let mut ui = UiState::for_lesson(k);
                (ui.embed, ui.hidden) = (self.ui.embed, self.ui.hidden.clone());
                self.adopt(ui, vec![], &mut fx);
            }
            Input::Settings(settings) => {
                let mut ui = self.ui.clone();
                let msgs = ui.apply(&settings);
                self.adopt(ui, msgs, &mut fx);
            }
        }
        fx
    }

    /// The load command for the model the state names: the URL in `model`,
    /// else the files from the picker, else the task's built-in model.
    pub fn load_command(&self) -> ToWorker {
        let task = self.ui.task().to_string();
        let url = self.ui.get(Key::Model).trim().to_string();
        let extras = self.files.extras(&task, self.ui.get(Key::EvalShare).parse().unwrap_or(crate::tasks::split::EVAL_SHARE));
        ToWorker::Command(if !url.is_empty() {
            Command::LoadUrl { url, task, extras }
        } else if self.has_file {
            Command::LoadFiles { task, extras }
        } else {
            Command::Load { task }
        })
    }

    /// Whether the model asked for is a real one (a URL or picked files).
    pub(crate) fn wants_real_model(&self) -> bool {
        self.has_file || !self.ui.get(Key::Model).trim().is_empty()
    }

    /// The idle status for the current view.
    fn idle_status(&self) -> Status {
        if self.info.is_none() {
            Status::Loading
        } else if self.results.has(self.ui.view()) {
            Status::Done
        } else {
            Status::Ready
        }
    }

    fn message(&mut self, msg: FromWorker, fx: &mut Vec<Effect>) {
        let msg = match self.results.accept(self.running, msg) {
            Ok(true) => return self.finish(fx),
            Ok(false) => {
                if self.running.is_some_and(|v| v == self.ui.view()) {
                    fx.push(Effect::Render(Part::Results));
                }
                return;
            }
            Err(other) => *other,
        };
        match msg {
            FromWorker::Started => fx.push(Effect::Post(self.load_command())),
            FromWorker::Loaded(info) => {
                if info.task != self.ui.task() {
                    // The user switched task while this model loaded.
                    return fx.push(Effect::Post(self.load_command()));
                }
                if info.real != self.wants_real_model() {
                    // A load since replaced (the built-in model, when a file was chosen
                    // while it loaded): the answer to the newer load is still to come.
                    return;
                }
                if info.real {
                    self.notices.extend(self.ui.real_model_defaults());
                    fx.push(Effect::WriteHash);
                }
                self.info = Some(info);
                self.status = self.idle_status();
                if !self.ready_once {
                    self.ready_once = true;
                    fx.push(Effect::FirstReady);
                }
                // The explorer starts once the worker has chosen the backend.
                self.post_backend(fx);
                fx.push(Effect::Render(Part::All));
            }
            FromWorker::Backend { text, .. } => {
                self.backend_note = Some(text);
                fx.push(Effect::Render(Part::Chrome));
                self.autorun(fx);
            }
            FromWorker::ModelsForgotten { files } => {
                self.notices = vec![format!("Forgot the downloaded models this browser kept ({files} file{}): the next load of a model URL downloads it again.", if files == 1 { "" } else { "s" })];
                fx.push(Effect::Render(Part::Chrome));
            }
            FromWorker::Progress { done, total, unit } => {
                self.progress = Some((done, total, unit));
                fx.push(Effect::Render(Part::Progress));
            }
            FromWorker::Speed(s) => {
                self.bench = Some(s.text());
                self.finish(fx);
            }
            FromWorker::Failed { message } => self.fail(message, fx),
            FromWorker::TrainEval { .. } | FromWorker::Done { .. } => {}
        }
    }

    /// The explorer, and a lesson step's short experiment, run by themselves
    /// when their view is open with no result.
    fn autorun(&mut self, fx: &mut Vec<Effect>) {
        let view = self.ui.view();
        let auto = match lesson::current(&self.ui) {
            Some(step) => step.autorun,
            None => view == Experiment::Explore,
        };
        if auto && !self.results.has(view) && self.results.live(view).is_none() && self.info.is_some() && self.running.is_none() && self.backend_note.is_some() {
            self.run(vec![], fx);
        }
    }

    fn post_backend(&mut self, fx: &mut Vec<Effect>) {
        self.backend_note = None;
        fx.push(Effect::Post(ToWorker::Command(Command::SetBackend { backend: self.ui.backend() })));
    }

    fn finish(&mut self, fx: &mut Vec<Effect>) {
        // In the lesson a finished training run replays base -> sharpened once.
        if let (Some(view), true) = (self.running, self.ui.lesson() > 0 && !self.reduced_motion) {
            if let Some(live) = self.results.live_mut(view).filter(|l| l.watched.len() > 1) {
                (live.shown, live.playing) = (0, true);
            }
        }
        self.running = None;
        self.progress = None;
        self.status = self.idle_status();
        fx.push(Effect::RunEnded);
        fx.push(Effect::Render(Part::All));
    }

    fn fail(&mut self, message: String, fx: &mut Vec<Effect>) {
        self.running = None;
        self.progress = None;
        self.error = Some(message);
        self.status = Status::Error;
        fx.push(Effect::Render(Part::All));
    }

    fn restart(&mut self, fx: &mut Vec<Effect>) {
        self.info = None;
        fx.push(Effect::RestartWorker);
    }

    fn run(&mut self, controls: Vec<(Key, String)>, fx: &mut Vec<Effect>) {
        let Some(info) = self.info.clone() else { return };
        if self.running.is_some() {
            return;
        }
        for (key, v) in controls {
            if v != self.ui.get(key) {
                let msg = self.ui.set(key, &v);
                self.notices.extend(msg);
            }
        }
        fx.push(Effect::WriteHash);
        let view = self.ui.view();
        let job = (entry(view).job)(&self.ui, &info);
        self.results.start(view, live_for(&job, &info));
        self.start_job(view, job, fx);
    }

    fn start_job(&mut self, view: Experiment, job: Job, fx: &mut Vec<Effect>) {
        self.running = Some(view);
        self.status = Status::Running;
        self.error = None;
        self.progress = Some((0, 0, "starting".into()));
        fx.push(Effect::RunStarted);
        fx.push(Effect::Post(ToWorker::Job(job)));
        fx.push(Effect::Render(Part::All));
    }

    fn bench(&mut self, fx: &mut Vec<Effect>) {
        let Some(info) = &self.info else { return };
        if self.running.is_some() {
            return;
        }
        self.bench = Some(if info.real { "measuring (about 10 s)..." } else { "measuring (about 3 s)..." }.into());
        self.start_job(self.ui.view(), Job::Bench, fx);
    }

    fn control(&mut self, key: Key, value: &str, fx: &mut Vec<Effect>) {
        let old = self.ui.clone();
        self.notices = self.ui.set(key, value).into_iter().collect();
        // Show the canonical (clamped) value.
        fx.push(Effect::ShowValue(key, self.ui.get(key).to_string()));
        fx.push(Effect::WriteHash);
        if self.reloads(&old, &self.ui) {
            self.task_changed(fx);
        } else {
            if key == Key::Backend && self.info.is_some() {
                self.post_backend(fx);
            }
            fx.push(Effect::Render(Part::Chrome));
        }
    }

    /// Files from a picker: a prompt set makes the task `custom`; an
    /// adapter (or its removal) reloads the real model; the model reloads
    /// with them either way.
    fn files_read(&mut self, picked: Picked, files: Vec<(String, Vec<u8>)>, fx: &mut Vec<Effect>) {
        if picked == Picked::Adapter && self.ui.get(Key::Model).trim().is_empty() && !self.has_file {
            return self.fail("A LoRA adapter applies to a real model: give a model URL or choose model files first.".into(), fx);
        }
        match self.files.accept(picked, files) {
            Ok(notice) => self.notices = vec![notice],
            Err(e) => return self.fail(e, fx),
        }
        if picked != Picked::Adapter {
            self.ui.set(Key::Task, "custom");
            fx.push(Effect::ShowValue(Key::Task, "custom".into()));
            fx.push(Effect::WriteHash);
        }
        self.task_changed(fx);
    }

    /// Whether settings `old` -> `new` load the model again: another task
    /// or model URL, or for the user's own set (without a second file) a
    /// new held-out share, which splits it anew.
    fn reloads(&self, old: &UiState, new: &UiState) -> bool {
        let resplit = new.task() == "custom" && self.files.eval_prompts.is_none() && new.get(Key::EvalShare) != old.get(Key::EvalShare);
        new.task() != old.task() || new.get(Key::Model) != old.get(Key::Model) || resplit
    }

    /// The model changes: a running job's worker, and a worker that held a
    /// real model, are replaced (WebAssembly memory never shrinks, so only a
    /// fresh worker gives a real model's ~1 GB back); otherwise the same
    /// worker loads the new model.
    fn task_changed(&mut self, fx: &mut Vec<Effect>) {
        self.results = Results::default();
        if self.running.is_some() || self.info.as_ref().is_some_and(|i| i.real) {
            self.running = None;
            self.progress = None;
            self.restart(fx);
        } else {
            self.info = None;
            fx.push(Effect::Post(self.load_command()));
        }
        self.status = Status::Loading;
        fx.push(Effect::Render(Part::All));
    }

    fn hash(&mut self, hash: &str, fx: &mut Vec<Effect>) {
        let (ui, msgs) = UiState::from_hash(hash);
        self.adopt(ui, msgs, fx);
    }

    /// Takes `ui` as the page's settings (a new hash, a lesson step): the
    /// model reloads when its task or URL changed; `msgs` are the notices.
    fn adopt(&mut self, ui: UiState, msgs: Vec<String>, fx: &mut Vec<Effect>) {
        if ui == self.ui {
            return;
        }
        let task_changed = self.reloads(&self.ui, &ui);
        let backend_changed = ui.get(Key::Backend) != self.ui.get(Key::Backend);
        let step_changed = ui.lesson() != self.ui.lesson();
        self.ui = ui;
        self.notices = msgs;
        if !task_changed && self.info.as_ref().is_some_and(|i| i.real) {
            self.notices.extend(self.ui.real_model_defaults());
        }
        fx.push(Effect::WriteHash);
        if task_changed || (step_changed && self.running.is_some()) {
            // A running job belongs to the old settings: the worker restarts.
            return self.task_changed(fx);
        }
        if step_changed {
            // A new step starts from its own experiment, not the last step's results.
            self.results = Results::default();
        }
        if backend_changed && self.info.is_some() {
            self.post_backend(fx);
        }
        if self.running.is_none() {
            self.status = self.idle_status();
        }
        fx.push(Effect::Render(Part::All));
        self.autorun(fx);
    }
}
