//! The page: one [`App`] state, the events that change it (controls, buttons,
//! the URL hash, worker messages) and the worker's life cycle. What the state
//! looks like on screen is `page_render.rs`; everything it draws comes from
//! the pure builders in `ui/`.

use std::cell::RefCell;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ErrorEvent, HtmlInputElement, MessageEvent, Worker};

mod events;

use events::{listen, on_change, on_click, on_input, read_control, register_service_worker};

use super::dom::{self, by_id, window};
use super::page_render as render;
use super::results::{Live, Results};
use crate::ui::params::{param, UiState, View, PARAMS};
use crate::ui::jobs::PromptsFile;
use crate::ui::protocol::{FromWorker, ModelInfo, ToWorker};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Loading,
    Ready,
    Running,
    Done,
    Error,
}

impl Status {
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

struct WorkerHandle {
    worker: Worker,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(ErrorEvent)>,
}

pub struct App {
    pub ui: UiState,
    pub status: Status,
    worker: Option<WorkerHandle>,
    /// Terminated workers' handles: their closures must outlive any event
    /// already queued, so they are kept, not dropped.
    graveyard: Vec<WorkerHandle>,
    pub info: Option<ModelInfo>,
    pub results: Results,
    pub running: Option<View>,
    pub progress: Option<(usize, usize, String)>,
    pub notices: Vec<String>,
    pub error: Option<String>,
    pub bench: Option<String>,
    pub ready_ms: Option<f64>,
    run_started_ms: f64,
    /// A model chosen with the file picker (used while the URL field is empty).
    /// Model files from the picker: one GGUF, or a Hugging Face model's files.
    file: Option<Vec<web_sys::File>>,
    /// The user's own prompt set (task `custom`), read from a JSONL file.
    prompts: Option<PromptsFile>,
    /// Which backend runs and why (from the worker), None while it chooses.
    pub backend_note: Option<String>,
}

thread_local! {
    static APP: RefCell<Option<App>> = const { RefCell::new(None) };
}

/// Runs `f` on the app unless it is already in use (a re-entrant event).
fn with_app(f: impl FnOnce(&mut App)) {
    APP.with(|a| {
        if let Ok(mut guard) = a.try_borrow_mut() {
            if let Some(app) = guard.as_mut() {
                f(app);
            }
        }
    });
}

fn spawn_worker() -> Result<WorkerHandle, JsValue> {
    let worker = Worker::new("./worker_loader.js")?;
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(|ev: MessageEvent| {
        match serde_wasm_bindgen::from_value::<FromWorker>(ev.data()) {
            Ok(msg) => with_app(|app| app.handle(msg)),
            Err(e) => with_app(|app| app.fail(format!("unreadable message from the worker: {e}"))),
        }
    });
    let on_error = Closure::<dyn FnMut(ErrorEvent)>::new(|ev: ErrorEvent| {
        ev.prevent_default();
        let msg = ev.message();
        with_app(|app| app.worker_crashed(&msg));
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    Ok(WorkerHandle { worker, _on_message: on_message, _on_error: on_error })
}

impl App {
    fn post(&self, msg: &ToWorker) {
        let Some(w) = &self.worker else { return };
        match serde_wasm_bindgen::to_value(msg) {
            Ok(v) => {
                let _ = w.worker.post_message(&v);
            }
            Err(e) => web_sys::console::error_1(&format!("cannot encode a message: {e}").into()),
        }
    }

    /// Asks the worker for the model the state names: the URL in `model`, else
    /// a file from the picker, else the task's built-in model.
    fn post_load(&self) {
        let task = self.ui.task().to_string();
        let url = self.ui.get("model").trim().to_string();
        let prompts = self.prompts.clone().filter(|_| task == "custom");
        if !url.is_empty() {
            return self.post(&ToWorker::LoadUrl { url, task, prompts });
        }
        match (&self.file, &self.worker) {
            (Some(f), Some(w)) => {
                let msg = js_sys::Object::new();
                let list: js_sys::Array = f.iter().collect();
                let _ = js_sys::Reflect::set(&msg, &"files".into(), &list);
                let _ = js_sys::Reflect::set(&msg, &"task".into(), &task.into());
                if let Ok(p) = serde_wasm_bindgen::to_value(&prompts) {
                    let _ = js_sys::Reflect::set(&msg, &"prompts".into(), &p);
                }
                let _ = w.worker.post_message(&msg);
            }
            _ => self.post(&ToWorker::Load { task }),
        }
    }

    /// Model files were chosen with the picker.
    fn file_chosen(&mut self, f: Vec<web_sys::File>) {
        self.file = Some(f);
        let _ = self.ui.set("model", "");
        if let Some(input) = by_id("ctl-model").and_then(|e| e.dyn_into::<HtmlInputElement>().ok()) {
            input.set_value("");
        }
        self.write_hash();
        self.notices = vec!["A model from a file is not part of the link: whoever opens it chooses the file again.".into()];
        self.task_changed();
    }

    fn post_backend(&mut self) {
        self.backend_note = None;
        let backend = self.ui.get("backend").to_string();
        self.post(&ToWorker::SetBackend { backend });
    }

    /// A prompt set file was read: it becomes task `custom`.
    fn prompts_chosen(&mut self, prompts: PromptsFile) {
        self.prompts = Some(prompts);
        let _ = self.ui.set("task", "custom");
        if let Some(sel) = by_id("ctl-task").and_then(|e| e.dyn_into::<web_sys::HtmlSelectElement>().ok()) {
            sel.set_value("custom");
        }
        self.write_hash();
        self.notices = vec!["A prompt set from a file is not part of the link: whoever opens it chooses the file again.".into()];
        self.task_changed();
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

    fn handle(&mut self, msg: FromWorker) {
        let msg = match self.results.accept(self.running, msg) {
            Ok(true) => return self.finish(),
            Ok(false) => {
                if self.running.is_some_and(|v| v == self.ui.view()) {
                    render::results(self);
                }
                return;
            }
            Err(other) => other,
        };
        match msg {
            FromWorker::Started => self.post_load(),
            FromWorker::Loaded(info) => {
                if info.task != self.ui.task() {
                    // The user switched task while this model loaded.
                    self.post_load();
                    return;
                }
                if info.real {
                    self.notices.extend(self.ui.real_model_defaults());
                    self.write_hash();
                }
                self.info = Some(info);
                self.status = self.idle_status();
                if self.ready_ms.is_none() {
                    self.ready_ms = Some(dom::now_ms());
                }
                // The explorer starts once the worker has chosen the backend.
                self.post_backend();
                render::all(self);
            }
            FromWorker::Backend { text, .. } => {
                self.backend_note = Some(text);
                render::chrome(self);
                if self.ui.view() == View::Explore && self.results.explore.is_none() && self.running.is_none() {
                    self.run();
                }
            }
            FromWorker::Progress { done, total, unit } => {
                self.progress = Some((done, total, unit));
                render::progress(self);
            }
            FromWorker::Bench { tokens_per_s, tokens, seconds } => {
                self.bench = Some(format!(
                    "sampling at N = 64 in this page: {tokens_per_s:.0} tokens/s ({tokens} tokens per round, {:.0} ms per round, fastest third of rounds over 2 s)",
                    seconds * 1e3
                ));
                self.finish();
            }
            FromWorker::DecodeBench { rows, new_tokens, prefill_ms } => {
                let parts: Vec<String> = rows.iter().map(|(n, t)| format!("{t:.1} tokens/s at batch {n}")).collect();
                self.bench = Some(format!(
                    "decoding in this page: {} ({new_tokens} new tokens per row at temperature 1, prefill excluded: {prefill_ms:.0} ms; fastest third of runs)",
                    parts.join(", ")
                ));
                self.finish();
            }
            FromWorker::Failed { message } => self.fail(message),
            _ => {}
        }
    }

    fn finish(&mut self) {
        let took = dom::now_ms() - self.run_started_ms;
        self.running = None;
        self.progress = None;
        self.status = self.idle_status();
        dom::set_attr_body("data-last-run-ms", &format!("{took:.0}"));
        render::all(self);
    }

    fn fail(&mut self, message: String) {
        self.running = None;
        self.progress = None;
        self.error = Some(message);
        self.status = Status::Error;
        render::all(self);
    }

    fn worker_crashed(&mut self, msg: &str) {
        let what = if self.running.is_some() { "The run stopped: the worker crashed" } else { "The worker crashed" };
        self.restart_worker();
        self.fail(format!("{what} ({msg}). It has been restarted; the model is loading again."));
        self.status = Status::Error;
    }

    fn restart_worker(&mut self) {
        if let Some(old) = self.worker.take() {
            old.worker.terminate();
            self.graveyard.push(old);
        }
        self.info = None;
        match spawn_worker() {
            Ok(h) => self.worker = Some(h),
            Err(e) => self.error = Some(format!("cannot start the worker: {e:?}")),
        }
    }

    pub fn run(&mut self) {
        let Some(mnt) = self.info.as_ref().map(|i| i.max_new_tokens) else { return };
        if self.running.is_some() {
            return;
        }
        self.read_controls();
        let view = self.ui.view();
        let watch = self.ui.get("watch").to_string();
        let job = match view {
            View::Explore => ToWorker::Explore(self.ui.explore_params(mnt)),
            View::Bon => ToWorker::Bon(self.ui.bon_params(mnt)),
            View::Sft => {
                let params = self.ui.sft_params(mnt);
                let real = self.info.as_ref().is_some_and(|i| i.real);
                // A real model trains LoRA adapters: no live exact curves.
                self.results.sft = (!real).then(|| Live::new(params.steps));
                self.results.lora = None;
                ToWorker::Sft { params, watch }
            }
            View::Rlhf => {
                let params = self.ui.rlhf_params(mnt);
                self.results.rlhf = Some(Live::new(params.steps));
                ToWorker::Rlhf { params, watch }
            }
            View::Theory => ToWorker::Theory(self.ui.theory_params()),
            View::Efficiency => ToWorker::Efficiency(self.ui.efficiency_params()),
        };
        self.start_job(view, &job);
    }

    fn start_job(&mut self, view: View, job: &ToWorker) {
        self.running = Some(view);
        self.status = Status::Running;
        self.error = None;
        self.progress = Some((0, 0, "starting".into()));
        self.run_started_ms = dom::now_ms();
        self.post(job);
        render::all(self);
    }

    fn bench(&mut self) {
        if self.info.is_some() && self.running.is_none() {
            let real = self.info.as_ref().is_some_and(|i| i.real);
            self.bench = Some(if real { "measuring (about 10 s)..." } else { "measuring (about 3 s)..." }.into());
            let view = self.ui.view();
            self.start_job(view, &ToWorker::Bench);
        }
    }

    /// Stops the running job at once: the worker is terminated and a fresh
    /// one loads the model again.
    fn cancel(&mut self) {
        if self.running.is_none() {
            return;
        }
        let at = self.progress.as_ref().map_or(String::new(), |(d, t, u)| format!(" after {d} / {t} {u}"));
        if let Some(live) = self.running.and_then(|v| self.results.live_mut(v)) {
            live.cancelled = live.exports.is_none();
        }
        self.running = None;
        self.progress = None;
        self.restart_worker();
        self.status = Status::Loading;
        self.notices = vec![format!("Cancelled{at}. The model is reloading; results so far stay on screen.")];
        render::all(self);
    }

    /// Reads every visible control into the state (pending edits included).
    fn read_controls(&mut self) {
        let view = self.ui.view();
        for p in PARAMS.iter().filter(|p| p.views.contains(&view)) {
            if let Some(v) = read_control(p.key, p.kind) {
                if v != self.ui.get(p.key) {
                    let msg = self.ui.set(p.key, &v);
                    self.notices.extend(msg);
                }
            }
        }
        self.write_hash();
    }

    fn write_hash(&self) {
        let hash = format!("#{}", self.ui.to_hash());
        if let Ok(h) = window().history() {
            let _ = h.replace_state_with_url(&JsValue::NULL, "", Some(&hash));
        }
        render::share(self);
    }

    /// A control changed.
    fn control_changed(&mut self, key: &str) {
        let Some(p) = param(key) else { return };
        let Some(v) = read_control(key, p.kind) else { return };
        let (old_task, old_model) = (self.ui.task().to_string(), self.ui.get("model").to_string());
        self.notices = self.ui.set(key, &v).into_iter().collect();
        // Show the canonical (clamped) value.
        if let Some(input) = by_id(&format!("ctl-{key}")).and_then(|e| e.dyn_into::<HtmlInputElement>().ok()) {
            input.set_value(self.ui.get(key));
        }
        self.write_hash();
        if self.ui.task() != old_task || self.ui.get("model") != old_model {
            self.task_changed();
        } else if key == "backend" {
            if self.info.is_some() {
                self.post_backend();
            }
            render::chrome(self);
        } else {
            render::chrome(self);
        }
    }

    fn task_changed(&mut self) {
        self.results = Results::default();
        if self.running.is_some() {
            self.running = None;
            self.progress = None;
            self.restart_worker();
        } else {
            self.info = None;
            self.post_load();
        }
        self.status = Status::Loading;
        render::all(self);
    }

    fn set_view(&mut self, v: &str) {
        let _ = self.ui.set("view", v);
        self.write_hash();
        if self.running.is_none() {
            self.status = self.idle_status();
        }
        render::all(self);
        if self.ui.view() == View::Explore && self.results.explore.is_none() && self.info.is_some() {
            self.run();
        }
    }

    /// The user edited the URL hash.
    fn hash_changed(&mut self) {
        let hash = window().location().hash().unwrap_or_default();
        let (ui, msgs) = UiState::from_hash(&hash);
        if ui == self.ui {
            return;
        }
        let task_changed = ui.task() != self.ui.task() || ui.get("model") != self.ui.get("model");
        let backend_changed = ui.get("backend") != self.ui.get("backend");
        self.ui = ui;
        self.notices = msgs;
        if !task_changed && self.info.as_ref().is_some_and(|i| i.real) {
            self.notices.extend(self.ui.real_model_defaults());
        }
        self.write_hash();
        if task_changed {
            self.task_changed();
        } else {
            if backend_changed && self.info.is_some() {
                self.post_backend();
            }
            if self.running.is_none() {
                self.status = self.idle_status();
            }
            render::all(self);
        }
    }
}

pub fn start() {
    console_error_panic_hook::set_once();
    let hash = window().location().hash().unwrap_or_default();
    let (ui, notices) = UiState::from_hash(&hash);
    let mut app = App {
        ui,
        status: Status::Loading,
        worker: None,
        graveyard: vec![],
        info: None,
        results: Results::default(),
        running: None,
        progress: None,
        notices,
        error: None,
        bench: None,
        ready_ms: None,
        run_started_ms: 0.0,
        file: None,
        prompts: None,
        backend_note: None,
    };
    match spawn_worker() {
        Ok(h) => app.worker = Some(h),
        Err(e) => {
            app.error = Some(format!("this browser cannot start the lab's worker: {e:?}"));
            app.status = Status::Error;
        }
    }
    app.write_hash();
    render::all(&app);
    APP.with(|a| *a.borrow_mut() = Some(app));
    let d: web_sys::EventTarget = dom::doc().into();
    listen(&d, "click", on_click);
    listen(&d, "change", on_change);
    listen(&d, "input", on_input);
    let w: web_sys::EventTarget = window().into();
    listen(&w, "hashchange", |_| with_app(App::hash_changed));
    register_service_worker();
}
