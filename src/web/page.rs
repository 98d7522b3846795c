//! The page's effects: the state and its update are `ui::page_state`
//! (pure, tested natively); this file holds the worker, the picked model
//! files and the timings, feeds events in and carries the effects out.

use std::cell::RefCell;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ErrorEvent, MessageEvent, Worker};

mod events;

use super::dom::{self, window};
use super::page_render as render;
use crate::ui::screen;
use events::PageEvent;
use crate::app::protocol::{Command, FromWorker, ToWorker};
use crate::ui::page_state::{Effect, Input, PageState, Status};

struct WorkerHandle {
    worker: Worker,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(ErrorEvent)>,
}

pub struct App {
    pub state: PageState,
    worker: Option<WorkerHandle>,
    /// Terminated workers' handles: their closures must outlive any event
    /// already queued, so they are kept, not dropped.
    graveyard: Vec<WorkerHandle>,
    /// Model files from the picker: one GGUF, or a Hugging Face model's files.
    files: Vec<web_sys::File>,
    run_started_ms: f64,
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

/// Feeds one input to the state and carries out its effects.
fn send(input: Input) {
    with_app(|app| app.update(input));
}

/// A DOM event from `events`.
fn on_event(ev: PageEvent) {
    match ev {
        PageEvent::Input(i) => send(i),
        PageEvent::Files(files) => with_app(|app| {
            app.files = files;
            app.update(Input::FileChosen);
        }),
        PageEvent::Download(d) => {
            let mut file = None;
            with_app(|app| file = screen::download(&app.state, d));
            // The download clicks a link, which must not re-enter the click handler.
            if let Some((name, mime, bytes)) = file {
                wasm_bindgen_futures::spawn_local(async move {
                    let _ = dom::download(&name, mime, &bytes);
                });
            }
        }
        PageEvent::ExportChart { chart, png } => {
            let mut stem = String::new();
            with_app(|app| stem = screen::stem(&app.state));
            wasm_bindgen_futures::spawn_local(async move { render::export_chart(&chart, &stem, png) });
        }
        PageEvent::Copy(id) => render::copy_from(id),
    }
}

fn spawn_worker() -> Result<WorkerHandle, JsValue> {
    let worker = Worker::new("./worker_loader.js")?;
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(|ev: MessageEvent| match serde_wasm_bindgen::from_value::<FromWorker>(ev.data()) {
        Ok(msg) => send(Input::Worker(msg)),
        Err(e) => send(Input::Failed(format!("unreadable message from the worker: {e}"))),
    });
    let on_error = Closure::<dyn FnMut(ErrorEvent)>::new(|ev: ErrorEvent| {
        ev.prevent_default();
        send(Input::WorkerCrashed(ev.message()));
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    Ok(WorkerHandle { worker, _on_message: on_message, _on_error: on_error })
}

impl App {
    fn update(&mut self, input: Input) {
        for fx in self.state.update(input) {
            self.apply(fx);
        }
    }

    fn apply(&mut self, fx: Effect) {
        match fx {
            Effect::Post(msg) => self.post(&msg),
            Effect::RestartWorker => self.restart_worker(),
            Effect::WriteHash => {
                let hash = format!("#{}", self.state.ui.to_hash());
                if let Ok(h) = window().history() {
                    let _ = h.replace_state_with_url(&JsValue::NULL, "", Some(&hash));
                }
                render::share(&self.state);
            }
            Effect::ShowValue(key, v) => render::show_value(key, &v),
            Effect::Render(part) => render::part(&self.state, part),
            Effect::RunStarted => self.run_started_ms = dom::now_ms(),
            Effect::RunEnded => dom::set_attr_body("data-last-run-ms", &format!("{:.0}", dom::now_ms() - self.run_started_ms)),
            Effect::FirstReady => dom::set_attr_body("data-ready-ms", &format!("{:.0}", dom::now_ms())),
        }
    }

    /// Posts a typed message as `{message}`; the picked model files ride
    /// beside `LoadFiles` as `{message, files}`.
    fn post(&self, msg: &ToWorker) {
        let Some(w) = &self.worker else { return };
        let v = match serde_wasm_bindgen::to_value(msg) {
            Ok(v) => v,
            Err(e) => return web_sys::console::error_1(&format!("cannot encode a message: {e}").into()),
        };
        let envelope = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&envelope, &"message".into(), &v);
        if let ToWorker::Command(Command::LoadFiles { .. }) = msg {
            let list: js_sys::Array = self.files.iter().collect();
            let _ = js_sys::Reflect::set(&envelope, &"files".into(), &list);
        }
        let _ = w.worker.post_message(&envelope);
    }

    fn restart_worker(&mut self) {
        if let Some(old) = self.worker.take() {
            old.worker.terminate();
            self.graveyard.push(old);
        }
        match spawn_worker() {
            Ok(h) => self.worker = Some(h),
            Err(e) => self.state.error = Some(format!("cannot start the worker: {e:?}")),
        }
    }
}

pub fn start() {
    console_error_panic_hook::set_once();
    let mut app = App { state: PageState::new(&window().location().hash().unwrap_or_default()), worker: None, graveyard: vec![], files: vec![], run_started_ms: 0.0 };
    match spawn_worker() {
        Ok(h) => app.worker = Some(h),
        Err(e) => {
            app.state.error = Some(format!("this browser cannot start the lab's worker: {e:?}"));
            app.state.status = Status::Error;
        }
    }
    app.state.reduced_motion = window().match_media("(prefers-reduced-motion: reduce)").ok().flatten().is_some_and(|m| m.matches());
    app.apply(Effect::WriteHash);
    for (id, html) in screen::static_regions() {
        dom::set_html(id, &html);
    }
    dom::set_attr_body("data-lesson-steps", &crate::ui::lesson::count().to_string());
    render::part(&app.state, crate::ui::page_state::Part::All);
    APP.with(|a| *a.borrow_mut() = Some(app));
    events::listen_all(on_event);
}
