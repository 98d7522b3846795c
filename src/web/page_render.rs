//! Puts the page's state on screen. Every text and HTML comes from
//! `ui::screen` and the views it calls; this file only places them, and
//! exports charts (SVG, PNG) and copies share fields.

use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlProgressElement, HtmlTextAreaElement};

use super::dom::{self, by_id, set_attr, set_disabled, set_hidden, set_html, set_text, window};
use crate::app::Experiment;
use crate::ui::page_state::{PageState, Part};
use crate::ui::params::Key;
use crate::ui::screen;

pub fn part(s: &PageState, p: Part) {
    match p {
        Part::All => {
            chrome(s);
            for (id, html) in screen::regions(s) {
                set_html(id, &html);
            }
            share(s);
        }
        Part::Chrome => chrome(s),
        Part::Results => set_html("results", &screen::results_html(s)),
        Part::Progress => progress(s),
        Part::Morph => morph(s),
    }
}

/// Status, tabs, buttons, progress, notices and errors.
fn chrome(s: &PageState) {
    let body = dom::body();
    let _ = body.set_attribute("data-status", s.status.attr());
    let _ = body.class_list().toggle_with_force("embed", s.ui.embed);
    let _ = body.class_list().toggle_with_force("in-lesson", s.ui.lesson() > 0);
    let view = s.ui.view();
    for v in Experiment::ALL {
        set_attr(&format!("tab-{}", v.key()), "aria-selected", if v == view { "true" } else { "false" });
    }
    set_text("view-title", view.title());
    set_text("status-line", &screen::status_line(s));
    set_disabled("run", s.info.is_none() || s.running.is_some());
    set_disabled("cancel", !s.can_cancel());
    set_disabled("bench", s.info.is_none() || s.running.is_some());
    set_html("notices", &screen::notices_html(s));
    set_hidden("notices", s.notices.is_empty());
    set_text("error", s.error.as_deref().unwrap_or(""));
    set_hidden("error", s.error.is_none());
    set_text("model-info", &screen::model_line(s));
    set_text("model-summary", &screen::model_summary(s));
    set_text("backend-info", screen::backend_line(s));
    set_text("bench-result", s.bench.as_deref().unwrap_or(""));
    progress(s);
}

fn progress(s: &PageState) {
    set_hidden("progress-box", s.progress.is_none());
    let Some((done, total, _)) = &s.progress else { return };
    if let Some(p) = by_id("progress").and_then(|e| e.dyn_into::<HtmlProgressElement>().ok()) {
        if *total > 0 {
            p.set_max(*total as f64);
            p.set_value(*done as f64);
        } else {
            let _ = p.remove_attribute("value");
        }
    }
    set_text("progress-label", &screen::progress_label(s).unwrap_or_default());
}

/// Only the morph chart, its slider and its Play button (a frame of the animation).
fn morph(s: &PageState) {
    let Some(f) = screen::morph(s) else { return };
    if let Some(fig) = dom::doc().query_selector("figure[data-chart=\"sft-morph\"] svg").ok().flatten() {
        fig.set_outer_html(&f.svg);
    }
    set_text("morph-label", &f.label);
    set_text("morph-play", if f.playing { "Pause" } else { "Play" });
    set_attr("morph-play", "aria-pressed", if f.playing { "true" } else { "false" });
    if let Some(i) = by_id("morph-step").and_then(|e| e.dyn_into::<HtmlInputElement>().ok()) {
        i.set_value(&f.shown.to_string());
    }
}

/// A control's field shows `v` (its canonical value).
pub fn show_value(key: Key, v: &str) {
    let Some(e) = by_id(&format!("ctl-{}", key.name())) else { return };
    if let Some(i) = e.dyn_ref::<HtmlInputElement>() {
        i.set_value(v);
    } else if let Some(sel) = e.dyn_ref::<web_sys::HtmlSelectElement>() {
        sel.set_value(v);
    }
}

pub fn share(s: &PageState) {
    let href = window().location().href().unwrap_or_default();
    let (link, iframe) = screen::share(s, href.split('#').next().unwrap_or(""));
    if let Some(i) = by_id("share-link").and_then(|e| e.dyn_into::<HtmlInputElement>().ok()) {
        i.set_value(&link);
    }
    if let Some(t) = by_id("share-iframe").and_then(|e| e.dyn_into::<HtmlTextAreaElement>().ok()) {
        t.set_value(&iframe);
    }
}

/// Downloads a chart on the page as SVG, or rendered to PNG.
pub fn export_chart(chart: &str, stem: &str, png: bool) {
    let Some(svg) = dom::doc().query_selector(&format!("figure[data-chart=\"{chart}\"] svg")).ok().flatten() else { return };
    let text = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}", svg.outer_html());
    let dim = |a: &str| svg.get_attribute(a).and_then(|v| v.parse::<f64>().ok()).unwrap_or(520.0);
    if png {
        let (name, w, h) = (format!("{stem}-{chart}.png"), dim("width"), dim("height"));
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = dom::download_png(name, text, w, h).await {
                web_sys::console::warn_1(&format!("PNG export failed: {e:?}").into());
            }
        });
    } else {
        let _ = dom::download(&format!("{stem}-{chart}.svg"), "image/svg+xml", text.as_bytes());
    }
}

/// Copies a share field to the clipboard, or selects it for manual copying.
pub fn copy_from(id: &'static str) {
    let field = by_id(id);
    let input = field.as_ref().and_then(|e| e.dyn_ref::<HtmlInputElement>().cloned());
    let area = field.as_ref().and_then(|e| e.dyn_ref::<HtmlTextAreaElement>().cloned());
    let text = input.as_ref().map(|i| i.value()).or_else(|| area.as_ref().map(|t| t.value())).unwrap_or_default();
    wasm_bindgen_futures::spawn_local(async move {
        let ok = dom::copy_text(&text).await;
        if !ok {
            if let Some(i) = &input {
                i.select();
            } else if let Some(t) = &area {
                t.select();
            }
        }
        set_text("copy-status", if ok { "Copied." } else { "Copying is blocked here: the text is selected, press Ctrl+C." });
    });
}
