//! The page's DOM events (clicks, control changes, the morph slider, the
//! file pickers, the URL hash) turned into [`PageEvent`]s for one handler,
//! and the service worker registration.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Element, Event, HtmlInputElement};

use crate::app::protocol::Download;
use crate::app::Experiment;
use crate::ui::page_state::Input;
use crate::ui::params::{param, param_named, Key, Kind, PARAMS};
use crate::ui::user_files::Picked;
use crate::web::dom::{self, by_id, window};

/// What the page is asked to do.
pub enum PageEvent {
    /// An input for the page's state.
    Input(Input),
    /// Model files were chosen with the picker.
    Files(Vec<web_sys::File>),
    /// Download one of the current run's files.
    Download(Download),
    /// Export a chart as SVG or PNG.
    ExportChart { chart: String, png: bool },
    /// Copy a share field.
    Copy(&'static str),
}

thread_local! {
    static HANDLER: std::cell::Cell<Option<fn(PageEvent)>> = const { std::cell::Cell::new(None) };
}

fn send(ev: PageEvent) {
    if let Some(h) = HANDLER.with(|h| h.get()) { h(ev) }
}

fn input(i: Input) {
    send(PageEvent::Input(i));
}

/// The value a control shows now (checkbox sets joined by commas); None
/// when the control is not on the page.
fn read_control(key: Key) -> Option<String> {
    let name = key.name();
    if let Kind::ChoiceSet(_) = param(key).kind {
        dom::doc().query_selector(&format!("input[name=\"{name}\"]")).ok()??;
        let list = dom::doc().query_selector_all(&format!("input[name=\"{name}\"]:checked")).ok()?;
        let vals: Vec<String> = (0..list.length()).filter_map(|i| list.item(i)?.dyn_into::<HtmlInputElement>().ok().map(|e| e.value())).collect();
        return Some(vals.join(","));
    }
    let e = by_id(&format!("ctl-{name}"))?;
    if let Some(i) = e.dyn_ref::<HtmlInputElement>() {
        return Some(i.value());
    }
    e.dyn_ref::<web_sys::HtmlSelectElement>().map(|s| s.value())
}

/// Every control on the page with its value (pending edits included).
fn controls() -> Vec<(Key, String)> {
    PARAMS.iter().filter_map(|p| read_control(p.key).map(|v| (p.key, v))).collect()
}

fn on_click(ev: Event) {
    let Some(el) = ev.target().and_then(|t| t.dyn_into::<Element>().ok()).and_then(|t| t.closest("[data-action]").ok().flatten()) else { return };
    let attr = |a: &str| el.get_attribute(a).unwrap_or_default();
    match attr("data-action").as_str() {
        "run" => input(Input::Run(controls())),
        "cancel" => input(Input::Cancel),
        "bench" => input(Input::Bench),
        "forget-models" => input(Input::ForgetModels),
        "tab" => {
            if let Some(e) = Experiment::parse(&attr("data-view")) {
                input(Input::View(e));
            }
        }
        "download" => {
            if let Some(d) = Download::parse(&attr("data-what")) {
                send(PageEvent::Download(d));
            }
        }
        a @ ("export-svg" | "export-png") => send(PageEvent::ExportChart { chart: attr("data-chart"), png: a == "export-png" }),
        "play" => input(Input::Play),
        "lesson" => input(Input::Lesson(attr("data-step").parse().unwrap_or(0))),
        "settings" => input(Input::Settings(attr("data-settings"))),
        "glossary" => by_id("glossary").into_iter().for_each(|g| {
            let _ = g.set_attribute("open", "");
            g.scroll_into_view();
        }),
        "no-adapter" => input(Input::FilesRead(Picked::Adapter, vec![])),
        "copy-link" => send(PageEvent::Copy("share-link")),
        "copy-iframe" => send(PageEvent::Copy("share-iframe")),
        _ => {}
    }
}

fn picked(t: &Element) -> Vec<web_sys::File> {
    t.dyn_ref::<HtmlInputElement>().and_then(|i| i.files()).map(|l| (0..l.length()).filter_map(|i| l.get(i)).collect()).unwrap_or_default()
}

fn on_change(ev: Event) {
    let Some(t) = ev.target().and_then(|t| t.dyn_into::<Element>().ok()) else { return };
    let id = t.id();
    // One GGUF file, or a Hugging Face model's files chosen together.
    if id == "model-file" && !picked(&t).is_empty() {
        send(PageEvent::Files(picked(&t)));
    } else if let Some(from) = Picked::ALL.into_iter().find(|p| p.input_id() == id) {
        wasm_bindgen_futures::spawn_local(read_files(from, picked(&t)));
    } else if let Some(key) = t.get_attribute("name").and_then(|n| param_named(&n)).map(|p| p.key) {
        if let Some(v) = read_control(key) {
            input(Input::Control(key, v));
        }
    }
}

/// Reads the files a picker chose (none chosen: nothing happens); the
/// worker parses them with the model.
async fn read_files(from: Picked, files: Vec<web_sys::File>) {
    let (max, mut named) = (from.max_bytes(), Vec::new());
    for f in files {
        let name = f.name();
        if f.size() > max {
            return input(Input::Failed(format!("{name} is {:.0} MB; this file may have at most {:.0} MB", f.size() / 1e6, max / 1e6)));
        }
        match wasm_bindgen_futures::JsFuture::from(f.array_buffer()).await {
            Ok(b) => named.push((name, js_sys::Uint8Array::new(&b).to_vec())),
            Err(e) => return input(Input::Failed(format!("cannot read {name}: {e:?}"))),
        }
    }
    if !named.is_empty() {
        input(Input::FilesRead(from, named));
    }
}

fn on_input(ev: Event) {
    let Some(t) = ev.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok()) else { return };
    if t.id() == "morph-step" {
        input(Input::Morph(t.value().parse().unwrap_or(0)));
    }
}

fn listen(target: &web_sys::EventTarget, kind: &str, f: impl FnMut(Event) + 'static) {
    let cb = Closure::<dyn FnMut(Event)>::new(f);
    let _ = target.add_event_listener_with_callback(kind, cb.as_ref().unchecked_ref());
    cb.forget();
}

/// Listens to the document and the window, handing every event to
/// `handler`; registers the service worker (the offline cache) where the
/// page is a secure context.
pub fn listen_all(handler: fn(PageEvent)) {
    HANDLER.with(|h| h.set(Some(handler)));
    let d: web_sys::EventTarget = dom::doc().into();
    listen(&d, "click", on_click);
    listen(&d, "change", on_change);
    listen(&d, "input", on_input);
    let w = window();
    listen(&w, "hashchange", |_| input(Input::Hash(window().location().hash().unwrap_or_default())));
    // The animation clock of the morph chart.
    let tick = Closure::<dyn FnMut()>::new(|| input(Input::Tick));
    let _ = w.set_interval_with_callback_and_timeout_and_arguments_0(tick.as_ref().unchecked_ref(), 450);
    tick.forget();
    if !w.is_secure_context() {
        return;
    }
    let promise = w.navigator().service_worker().register("sw.js");
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(e) = wasm_bindgen_futures::JsFuture::from(promise).await {
            web_sys::console::warn_1(&format!("offline cache unavailable: {e:?}").into());
        }
    });
}
