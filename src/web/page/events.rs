//! The page's DOM event handlers (clicks, control changes, the morph slider,
//! the model file picker) and the service worker registration; each hands
//! its work to the [`App`].

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Element, Event, HtmlInputElement};

use super::{render, with_app, App};
use crate::ui::jobs::PromptsFile;
use crate::ui::params::Kind;
use crate::web::dom::{self, by_id, window};

/// The value a control shows now (checkbox sets joined by commas).
pub(super) fn read_control(key: &str, kind: Kind) -> Option<String> {
    if let Kind::ChoiceSet(_) = kind {
        let list = dom::doc().query_selector_all(&format!("input[name=\"{key}\"]:checked")).ok()?;
        if dom::doc().query_selector(&format!("input[name=\"{key}\"]")).ok()?.is_none() {
            return None;
        }
        let vals: Vec<String> = (0..list.length())
            .filter_map(|i| list.item(i)?.dyn_into::<HtmlInputElement>().ok().map(|e| e.value()))
            .collect();
        return Some(if vals.is_empty() { String::new() } else { vals.join(",") });
    }
    let e = by_id(&format!("ctl-{key}"))?;
    if let Some(i) = e.dyn_ref::<HtmlInputElement>() {
        return Some(i.value());
    }
    e.dyn_ref::<web_sys::HtmlSelectElement>().map(|s| s.value())
}

fn action_target(ev: &Event) -> Option<Element> {
    ev.target()?.dyn_into::<Element>().ok()?.closest("[data-action]").ok()?
}

pub(super) fn on_click(ev: Event) {
    let Some(el) = action_target(&ev) else { return };
    let action = el.get_attribute("data-action").unwrap_or_default();
    match action.as_str() {
        "run" => with_app(App::run),
        "cancel" => with_app(App::cancel),
        "bench" => with_app(App::bench),
        "tab" => {
            let v = el.get_attribute("data-view").unwrap_or_default();
            with_app(|app| app.set_view(&v));
        }
        "download" => {
            let what = el.get_attribute("data-what").unwrap_or_default();
            let mut file = None;
            with_app(|app| file = render::download_file(app, &what));
            // The download clicks a link, which must not re-enter this handler.
            if let Some((name, mime, text)) = file {
                wasm_bindgen_futures::spawn_local(async move {
                    let _ = dom::download_text(&name, mime, &text);
                });
            }
        }
        "export-svg" | "export-png" => {
            let chart = el.get_attribute("data-chart").unwrap_or_default();
            let mut stem = String::new();
            with_app(|app| stem = render::stem(app));
            wasm_bindgen_futures::spawn_local(async move { render::export_chart(&chart, &stem, action == "export-png") });
        }
        "copy-link" | "copy-iframe" => {
            let id = if action == "copy-link" { "share-link" } else { "share-iframe" };
            render::copy_from(id);
        }
        _ => {}
    }
}

pub(super) fn on_change(ev: Event) {
    let Some(t) = ev.target().and_then(|t| t.dyn_into::<Element>().ok()) else { return };
    if t.id() == "model-file" {
        // One GGUF file, or a Hugging Face model's files chosen together.
        let files: Vec<web_sys::File> = t.dyn_ref::<HtmlInputElement>().and_then(|i| i.files()).map(|l| (0..l.length()).filter_map(|i| l.get(i)).collect()).unwrap_or_default();
        if !files.is_empty() {
            with_app(|app| app.file_chosen(files));
        }
        return;
    }
    if t.id() == "prompts-file" {
        if let Some(f) = t.dyn_ref::<HtmlInputElement>().and_then(|i| i.files()).and_then(|l| l.get(0)) {
            wasm_bindgen_futures::spawn_local(read_prompts(f));
        }
        return;
    }
    let Some(name) = t.get_attribute("name") else { return };
    with_app(|app| app.control_changed(&name));
}

/// Largest prompt set file read (10,000 prompts of a few hundred bytes).
const MAX_PROMPTS_BYTES: f64 = 8e6;

/// Reads a chosen prompt set file; the worker parses it with the model.
async fn read_prompts(f: web_sys::File) {
    let name = f.name();
    if f.size() > MAX_PROMPTS_BYTES {
        let msg = format!("{name} is {:.0} MB; a prompt set file may have at most {:.0} MB", f.size() / 1e6, MAX_PROMPTS_BYTES / 1e6);
        return with_app(|app| app.fail(msg));
    }
    match wasm_bindgen_futures::JsFuture::from(f.text()).await {
        Ok(text) => {
            let text = text.as_string().unwrap_or_default();
            with_app(|app| app.prompts_chosen(PromptsFile { name, text }));
        }
        Err(e) => with_app(|app| app.fail(format!("cannot read {name}: {e:?}"))),
    }
}

pub(super) fn on_input(ev: Event) {
    let Some(t) = ev.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok()) else { return };
    if t.id() == "morph-step" {
        let k: usize = t.value().parse().unwrap_or(0);
        with_app(|app| {
            let v = app.ui.view();
            if let Some(live) = app.results.live_mut(v) {
                live.shown = k;
            }
            render::morph(app);
        });
    }
}

pub(super) fn listen(target: &web_sys::EventTarget, kind: &str, f: impl FnMut(Event) + 'static) {
    let cb = Closure::<dyn FnMut(Event)>::new(f);
    let _ = target.add_event_listener_with_callback(kind, cb.as_ref().unchecked_ref());
    cb.forget();
}

pub(super) fn register_service_worker() {
    let w = window();
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
