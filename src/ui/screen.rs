//! What the page shows for a [`PageState`], as text and HTML: the status
//! line, the model and backend lines, notices, the current view's results
//! (through the registry), the share link and iframe, and the downloads.
//! `web::page_render` only puts these into the DOM.

use super::controls::{controls_html, Group};
use super::experiments::{entry, training_view};
use super::glossary::{gloss, glossary_html};
use super::lesson;
use super::html::para;
use super::page_state::PageState;
use super::page_state::Status;
use super::svg::esc;
use crate::app::protocol::Download;
use crate::app::session::provenance;
use crate::report::stamp;

pub fn status_line(s: &PageState) -> String {
    match (s.status, &s.info) {
        (Status::Loading, _) => "Loading the model…".into(),
        (Status::Error, _) => "Error — see the message below.".into(),
        (Status::Running, _) => "Running…".into(),
        (_, Some(i)) => format!("Ready: model {} ({} parameters, loaded in {:.0} ms), weights sha256 {}…", i.source, i.num_params, i.load_ms, &i.sha256[..12]),
        (_, None) => String::new(),
    }
}

/// The model line: what is loaded, how its weights are held, its hash.
pub fn model_line(s: &PageState) -> String {
    let Some(i) = &s.info else { return "loading…".into() };
    if i.real {
        format!(
            "{} — {:.1} M parameters, {:.0} MB file ({}, loaded in {:.1} s), matrix weights {}; weights sha256 {}. Questions: {} — answers are free text, so numbers are estimates from samples.",
            i.source,
            i.num_params as f64 / 1e6,
            i.file_bytes as f64 / 1e6,
            i.origin,
            i.load_ms / 1e3,
            i.weights,
            i.sha256,
            i.description
        )
    } else {
        format!("{} — {} ({} parameters, weights sha256 {})", i.source, i.description, i.num_params, i.sha256)
    }
}

pub fn backend_line(s: &PageState) -> &str {
    s.backend_note.as_deref().unwrap_or(if s.info.is_some() { "choosing…" } else { "after the model loads" })
}

pub fn notices_html(s: &PageState) -> String {
    if s.notices.is_empty() {
        return String::new();
    }
    format!("<ul>{}</ul>", s.notices.iter().map(|n| format!("<li>{}</li>", esc(n))).collect::<String>())
}

/// The progress label (`unit: done / total`), when a job runs.
pub fn progress_label(s: &PageState) -> Option<String> {
    let (done, total, unit) = s.progress.as_ref()?;
    Some(if *total > 0 { format!("{unit}: {done} / {total}") } else { unit.clone() })
}

/// The provenance line of a run still streaming in (the finished run's
/// exports carry their own).
pub fn live_stamp(s: &PageState) -> String {
    match &s.info {
        Some(i) => stamp(&provenance(i, &format!("{} (running)", s.ui.view().key()), s.ui.seed()), "live"),
        None => String::new(),
    }
}

/// The current view's results, or what it says before a run, with its
/// symbols explained where they first appear.
pub fn results_html(s: &PageState) -> String {
    let e = entry(s.ui.view());
    let html = (e.view)(&s.results, &live_stamp(s)).unwrap_or_else(|| para((e.placeholder)(s.info.as_ref().is_some_and(|i| i.real))));
    gloss(&html, &mut Vec::new())
}

/// The page's regions (element id, HTML) drawn again on a full redraw.
pub fn regions(s: &PageState) -> [(&'static str, String); 7] {
    [
        ("model-controls", controls_html(&s.ui, Group::Model)),
        ("controls", controls_html(&s.ui, Group::Main)),
        ("more-controls", controls_html(&s.ui, Group::More)),
        ("lesson", lesson::intro_html(&s.ui)),
        ("lesson-text", lesson::text_html(&s.ui)),
        ("lesson-tasks", lesson::tasks_html(&s.ui)),
        ("results", results_html(s)),
    ]
}

/// The regions drawn once: the glossary and the printable worksheet.
pub fn static_regions() -> [(&'static str, String); 2] {
    [("glossary-list", glossary_html()), ("worksheet", lesson::worksheet_html())]
}

/// The line on the model panel's summary: which model the lab uses.
pub fn model_summary(s: &PageState) -> String {
    match &s.info {
        Some(i) => format!("{} — task {}", i.source, s.ui.task()),
        None => format!("loading (task {})…", s.ui.task()),
    }
}

/// One frame of the morph animation: the chart, its label, which
/// evaluation and whether it plays.
pub struct MorphFrame {
    pub svg: String,
    pub label: String,
    pub shown: usize,
    pub playing: bool,
}

/// The morph chart of the current training view.
pub fn morph(s: &PageState) -> Option<MorphFrame> {
    let stamp = live_stamp(s);
    let v = training_view(&s.results, s.ui.view(), &stamp)?;
    let svg = super::view_training::morph_chart(&v)?;
    let playing = s.results.live(s.ui.view()).is_some_and(|l| l.playing);
    Some(MorphFrame { svg, label: super::view_training::morph_label(&v), shown: v.shown.min(v.watched.len() - 1), playing })
}

/// File stem of the current view's exports.
pub fn stem(s: &PageState) -> String {
    let view = s.ui.view();
    s.results.exports(view).map_or_else(|| format!("sharpening-{}-{}-seed{}", view.key(), s.ui.task(), s.ui.seed()), |e| e.stem.clone())
}

/// `(file name, MIME type, contents)` of a download of the current view's run.
pub fn download(s: &PageState, d: Download) -> Option<(String, &'static str, Vec<u8>)> {
    let ex = s.results.exports(s.ui.view())?;
    let (suffix, mime) = d.file_type();
    Some((format!("{}{suffix}", ex.stem), mime, ex.bytes(d).to_vec()))
}

/// The share link and the embedding iframe for the page at `base` (its URL
/// without the hash).
pub fn share(s: &PageState, base: &str) -> (String, String) {
    let mut embed = s.ui.clone();
    embed.embed = true;
    let iframe = format!(
        "<iframe src=\"{base}#{}\" title=\"Sharpening Lab: {}\" width=\"100%\" height=\"760\" style=\"border:0;max-width:100%\" loading=\"lazy\"></iframe>",
        embed.to_hash(),
        s.ui.view().title()
    );
    (format!("{base}#{}", s.ui.to_hash()), iframe)
}
