//! Puts the [`App`] state on screen: status, progress, controls, results,
//! share links and footer. The HTML and SVG come from `ui/`; this file only
//! places them and wires exports.

use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlProgressElement, HtmlTextAreaElement};

use super::dom::{self, by_id, set_attr, set_disabled, set_hidden, set_html, set_text, window};
use super::page::{App, Status};
use crate::ui::controls::controls_html;
use crate::ui::html::para;
use crate::ui::params::View;
use crate::ui::protocol::Exports;
use crate::ui::svg::esc;
use crate::ui::view_bon::bon_html;
use crate::ui::view_efficiency::efficiency_html;
use crate::ui::view_explore::explore_html;
use crate::ui::view_lora::lora_html;
use crate::ui::view_training::{morph_chart, training_html, TrainingView};
use crate::ui::view_theory::theory_html;

pub fn all(app: &App) {
    chrome(app);
    set_html("controls", &controls_html(&app.ui));
    results(app);
    share(app);
}

fn status_line(app: &App) -> String {
    match (app.status, &app.info) {
        (Status::Loading, _) => "Loading the model…".into(),
        (Status::Error, _) => "Error — see the message below.".into(),
        (Status::Running, _) => "Running…".into(),
        (_, Some(i)) => format!(
            "Ready: model {} ({} parameters, loaded in {:.0} ms), weights sha256 {}…",
            i.source, i.num_params, i.load_ms, &i.sha256[..12]
        ),
        (_, None) => String::new(),
    }
}

/// Status, tabs, buttons, progress, notices and errors.
pub fn chrome(app: &App) {
    let body = dom::body();
    let _ = body.set_attribute("data-status", app.status.attr());
    if let Some(ms) = app.ready_ms {
        let _ = body.set_attribute("data-ready-ms", &format!("{ms:.0}"));
    }
    let _ = body.class_list().toggle_with_force("embed", app.ui.embed);
    let view = app.ui.view();
    for v in View::ALL {
        set_attr(&format!("tab-{}", v.key()), "aria-selected", if v == view { "true" } else { "false" });
    }
    set_text("view-title", view.title());
    set_text("status-line", &status_line(app));
    set_disabled("run", app.info.is_none() || app.running.is_some());
    set_disabled("cancel", app.running.is_none());
    set_disabled("bench", app.info.is_none() || app.running.is_some());
    let notices: String = app.notices.iter().map(|n| format!("<li>{}</li>", esc(n))).collect();
    set_html("notices", &if notices.is_empty() { String::new() } else { format!("<ul>{notices}</ul>") });
    set_hidden("notices", app.notices.is_empty());
    set_text("error", app.error.as_deref().unwrap_or(""));
    set_hidden("error", app.error.is_none());
    let model = app.info.as_ref().map_or("loading…".to_string(), |i| {
        if i.real {
            format!(
                "{} — {:.1} M parameters, {:.0} MB file ({}, loaded in {:.1} s), matrix weights {}; weights sha256 {}. Questions: {} — answers are free text, so numbers are estimates from samples.",
                i.source, i.num_params as f64 / 1e6, i.file_bytes as f64 / 1e6, i.origin, i.load_ms / 1e3, i.weights, i.sha256, i.description
            )
        } else {
            format!("{} — {} ({} parameters, weights sha256 {})", i.source, i.description, i.num_params, i.sha256)
        }
    });
    set_text("model-info", &model);
    set_text("backend-info", app.backend_note.as_deref().unwrap_or(if app.info.is_some() { "choosing…" } else { "after the model loads" }));
    set_text("bench-result", app.bench.as_deref().unwrap_or(""));
    progress(app);
}

pub fn progress(app: &App) {
    set_hidden("progress-box", app.progress.is_none());
    let Some((done, total, unit)) = &app.progress else { return };
    if let Some(p) = by_id("progress").and_then(|e| e.dyn_into::<HtmlProgressElement>().ok()) {
        if *total > 0 {
            p.set_max(*total as f64);
            p.set_value(*done as f64);
        } else {
            let _ = p.remove_attribute("value");
        }
    }
    let label = if *total > 0 { format!("{unit}: {done} / {total}") } else { unit.clone() };
    set_text("progress-label", &label);
}

fn downloads(ex: &Exports) -> String {
    let mut o = String::from("<div class=\"downloads\" role=\"group\" aria-label=\"Export this run\"><span>Export:</span>");
    for (what, label, present) in [
        ("json", "JSON report", !ex.json.is_empty()),
        ("samples", "CSV (samples)", !ex.samples_csv.is_empty()),
        ("steps", "CSV (steps)", !ex.steps_csv.is_empty()),
        ("dataset", "JSONL (best-of-N dataset)", !ex.dataset_jsonl.is_empty()),
    ] {
        if present {
            o.push_str(&format!("<button type=\"button\" data-action=\"download\" data-what=\"{what}\">{label}</button>"));
        }
    }
    o.push_str("</div>");
    o
}

fn train_view<'a>(app: &'a App, stamp: &'a str) -> Option<TrainingView<'a>> {
    let live = app.results.live(app.ui.view())?;
    Some(TrainingView {
        steps: &live.steps,
        kl_closed_form: &live.kl_closed_form,
        watched: &live.watched,
        shown: live.shown,
        total_steps: live.total_steps,
        summary: live.summary.clone(),
        wrong_mode: live.wrong_mode.as_deref(),
        stamp,
    })
}

fn live_stamp(app: &App) -> String {
    let i = app.info.as_ref();
    format!(
        "sharpening-lab {} · {} (running) · task {} · seed {} · model sha256 {}",
        crate::VERSION,
        app.ui.view().key(),
        app.ui.task(),
        app.ui.seed(),
        i.map_or("", |i| &i.sha256[..16])
    )
}

fn train_stamp(app: &App) -> String {
    app.results.live(app.ui.view()).and_then(|l| l.exports.as_ref()).map_or_else(|| live_stamp(app), |e| e.stamp.clone())
}

pub fn results(app: &App) {
    let view = app.ui.view();
    let r = &app.results;
    let with_downloads = |html: String, ex: &Exports| format!("{html}{}", downloads(ex));
    let html = match view {
        View::Explore => r.explore.as_ref().map(|(x, ex)| with_downloads(explore_html(x, &ex.stamp), ex)),
        View::Bon => r.bon.as_ref().map(|(x, ex)| with_downloads(bon_html(x, &ex.stamp), ex)),
        View::Sft if r.lora.is_some() => {
            r.lora.as_ref().map(|(x, ex)| with_downloads(lora_html(x, crate::sharpen::lora_sft::LoraParams::default().eval_samples, &ex.stamp), ex))
        }
        View::Sft | View::Rlhf => r.live(view).map(|live| {
            let stamp = train_stamp(app);
            let v = train_view(app, &stamp).expect("live run");
            let mut o = String::new();
            if live.cancelled {
                o.push_str(&para("This run was cancelled: the curves stop where it was stopped."));
            }
            o.push_str(&training_html(&v));
            if let Some(ex) = &live.exports {
                o.push_str(&downloads(ex));
            }
            o
        }),
        View::Theory => r.theory.as_ref().map(|(c, g, ex)| with_downloads(theory_html(c, g, &ex.stamp), ex)),
        View::Efficiency => r.efficiency.as_ref().map(|(x, ex)| with_downloads(efficiency_html(x, &ex.stamp), ex)),
    };
    let placeholder = match view {
        View::Explore => "Pick a prompt and press Run to sample answers.",
        View::Bon => "Press Run to sweep best-of-N over the prompts (a few seconds).",
        View::Sft if app.info.as_ref().is_some_and(|i| i.real) => {
            "Press Run to train low-rank adapters (LoRA) on this model's own best-of-N answers and compare it before and after (a few minutes with the defaults: each step takes seconds here)."
        }
        View::Sft => "Press Run to fine-tune a copy of the model on its own best-of-N answers and watch it sharpen.",
        View::Rlhf => "Press Run to train a copy of the model by RLHF-Sharpening (Eq. 8) and watch it approach the closed form pi_base^(1+1/beta) (about a minute with the defaults).",
        View::Theory => "Press Run to compare the closed-form optimum with token-level temperature for the prompt, and to measure the task's generation-verification gap (a few seconds).",
        View::Efficiency => "Press Run to train SFT-Sharpening at several N and RLHF-Sharpening with N = 2 on the same prompts and compare pi(y*) per sample drawn (a few minutes).",
    };
    set_html("results", &html.unwrap_or_else(|| para(placeholder)));
}

/// Only the morph chart (the slider moved).
pub fn morph(app: &App) {
    let stamp = train_stamp(app);
    let Some(v) = train_view(app, &stamp) else { return };
    if let Some(svg) = morph_chart(&v) {
        if let Some(fig) = dom::doc().query_selector("figure[data-chart=\"sft-morph\"] svg").ok().flatten() {
            fig.set_outer_html(&svg);
        }
        set_text("morph-label", &format!("Distribution after evaluation {} of {}", v.shown + 1, v.watched.len()));
    }
}

pub fn share(app: &App) {
    let href = window().location().href().unwrap_or_default();
    let base = href.split('#').next().unwrap_or("").to_string();
    let link = format!("{base}#{}", app.ui.to_hash());
    let mut embed = app.ui.clone();
    embed.embed = true;
    let iframe = format!(
        "<iframe src=\"{base}#{}\" title=\"Sharpening Lab: {}\" width=\"100%\" height=\"760\" style=\"border:0;max-width:100%\" loading=\"lazy\"></iframe>",
        embed.to_hash(),
        app.ui.view().title()
    );
    if let Some(i) = by_id("share-link").and_then(|e| e.dyn_into::<HtmlInputElement>().ok()) {
        i.set_value(&link);
    }
    if let Some(t) = by_id("share-iframe").and_then(|e| e.dyn_into::<HtmlTextAreaElement>().ok()) {
        t.set_value(&iframe);
    }
}

pub fn stem(app: &App) -> String {
    let ex = app.results.exports(app.ui.view());
    ex.map_or_else(|| format!("sharpening-{}-{}-seed{}", app.ui.view().key(), app.ui.task(), app.ui.seed()), |e| e.stem.clone())
}

/// `(file name, mime type, contents)` of a download of the current view's run.
pub fn download_file(app: &App, what: &str) -> Option<(String, &'static str, String)> {
    let ex = app.results.exports(app.ui.view())?;
    let (suffix, mime, text) = match what {
        "json" => (".json", "application/json", &ex.json),
        "samples" => ("-samples.csv", "text/csv", &ex.samples_csv),
        "steps" => ("-steps.csv", "text/csv", &ex.steps_csv),
        "dataset" => ("-bon-dataset.jsonl", "application/jsonl", &ex.dataset_jsonl),
        _ => return None,
    };
    Some((format!("{}{suffix}", ex.stem), mime, text.clone()))
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
        let _ = dom::download_text(&format!("{stem}-{chart}.svg"), "image/svg+xml", &text);
    }
}

/// Copies a share field to the clipboard, or selects it for manual copying.
pub fn copy_from(id: &str) {
    let text = by_id(id)
        .and_then(|e| {
            e.dyn_ref::<HtmlInputElement>().map(|i| i.value()).or_else(|| e.dyn_ref::<HtmlTextAreaElement>().map(|t| t.value()))
        })
        .unwrap_or_default();
    let id = id.to_string();
    wasm_bindgen_futures::spawn_local(async move {
        let ok = dom::copy_text(&text).await;
        if !ok {
            if let Some(i) = by_id(&id).and_then(|e| e.dyn_into::<HtmlInputElement>().ok()) {
                i.select();
            } else if let Some(t) = by_id(&id).and_then(|e| e.dyn_into::<HtmlTextAreaElement>().ok()) {
                t.select();
            }
        }
        set_text("copy-status", if ok { "Copied." } else { "Copying is blocked here: the text is selected, press Ctrl+C." });
    });
}
