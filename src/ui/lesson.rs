//! The guided lesson as the page shows it: `#lesson=K` (1-based) opens
//! step K of [`STEPS`] with its experiment set up (`UiState::for_lesson`),
//! the step's text above the experiment, its things to try and its
//! question below, Back / Next, and the whole lesson as a printable
//! worksheet. Pure HTML from the step table; `lesson=0` is the lab without
//! the lesson.

pub use super::lesson_steps::{Step, SMOLLM2_URL, STEPS};
use super::glossary::gloss;
use super::html::para;
use super::params::{Key, UiState};
use super::svg::esc;

/// Number of steps (the page's `<body data-lesson-steps>`).
pub fn count() -> usize {
    STEPS.len()
}

/// Step `k` (1-based), if there is one.
pub fn step(k: usize) -> Option<&'static Step> {
    k.checked_sub(1).and_then(|i| STEPS.get(i))
}

/// The step the state is on.
pub fn current(ui: &UiState) -> Option<&'static Step> {
    step(ui.lesson())
}

fn button(label: &str, step: usize, current: bool) -> String {
    let cur = if current { " aria-current=\"step\"" } else { "" };
    format!("<button type=\"button\" data-action=\"lesson\" data-step=\"{step}\"{cur}>{}</button>", esc(label))
}

/// Above the experiment: the list of steps and the step's title; outside
/// the lesson, an invitation to start it.
pub fn intro_html(ui: &UiState) -> String {
    let k = ui.lesson();
    let Some(s) = step(k) else {
        return format!(
            "<p class=\"lesson-start\">New to sharpening? {} through the paper's argument, with each experiment ready to run. <a href=\"teachers.html\">Notes for teachers</a>.</p>",
            button(&format!("Follow the guided lesson ({} short steps)", count()), 1, false)
        );
    };
    let steps: String = (1..=count()).map(|i| format!("<li>{}</li>", button(&i.to_string(), i, i == k))).collect();
    format!(
        "<nav class=\"lesson-steps\" aria-label=\"Lesson steps\"><span>Step</span><ol>{steps}</ol></nav>\
<h2 id=\"lesson-title\" data-autorun=\"{}\">{k}. {}</h2>",
        s.autorun,
        esc(s.title)
    )
}

/// The step's text (symbols explained) and its settings button: above the
/// experiment, below its result on a narrow screen.
pub fn text_html(ui: &UiState) -> String {
    let Some(s) = current(ui) else { return String::new() };
    let mut used = Vec::new();
    let text: String = s.text.iter().map(|p| gloss(&para(p), &mut used)).collect();
    let action = s.action.map_or(String::new(), |(label, settings)| {
        format!("<p><button type=\"button\" class=\"primary\" data-action=\"settings\" data-settings=\"{}\">{}</button></p>", esc(settings), esc(label))
    });
    format!("{text}{action}")
}

/// Below the experiment: things to try, the question with its answer to
/// reveal, Back / Next and the glossary.
pub fn tasks_html(ui: &UiState) -> String {
    let k = ui.lesson();
    let Some(s) = step(k) else { return String::new() };
    let mut used = Vec::new();
    let tries: String = s.try_this.iter().map(|t| format!("<li>{}</li>", gloss(&esc(t), &mut used))).collect();
    let back = if k > 1 { button("\u{2190} Back", k - 1, false) } else { String::new() };
    let next = if k < count() { button(&format!("Next: {} \u{2192}", step(k + 1).map_or("", |n| n.title)), k + 1, false) } else { button("Leave the lesson: the full lab", 0, false) };
    format!(
        "<h3>Try this</h3><ul>{tries}</ul><h3>Question</h3><p>{}</p>\
<details class=\"answer\"><summary>Show the answer</summary><p>{}</p></details>\
<div class=\"lesson-nav\">{back}{next}<button type=\"button\" data-action=\"glossary\">Glossary</button>{}</div>",
        gloss(&esc(s.question), &mut used),
        esc(s.answer),
        if k < count() { button("Leave the lesson", 0, false) } else { String::new() }
    )
}

/// Every step as a worksheet (shown only when printing): text, things to
/// try, the question and room for the answer.
pub fn worksheet_html() -> String {
    let mut o = format!("<h1>Sharpening: a worksheet</h1><p>{} steps. Open each step in the lab (the link under its title), run it, and answer the question.</p>", count());
    for (i, s) in STEPS.iter().enumerate() {
        let text: String = s.text.iter().map(|p| para(p)).collect();
        let tries: String = s.try_this.iter().map(|t| format!("<li>{}</li>", esc(t))).collect();
        o.push_str(&format!(
            "<section class=\"sheet-step\"><h2>{}. {}</h2><p class=\"sheet-link\">Lab link: #lesson={}</p>{text}<p><strong>Try this:</strong></p><ul>{tries}</ul>\
<p><strong>Question:</strong> {}</p><div class=\"answer-space\" aria-hidden=\"true\"></div></section>",
            i + 1,
            esc(s.title),
            i + 1,
            esc(s.question)
        ));
    }
    o
}

impl UiState {
    /// The lesson step the page is on (0: none).
    pub fn lesson(&self) -> usize {
        self.num(Key::Lesson)
    }

    /// The state step `k` opens with: the defaults, the step's settings,
    /// `lesson=k` (no step: the defaults).
    pub fn for_lesson(k: usize) -> UiState {
        let mut ui = UiState::default();
        if let Some(s) = step(k) {
            ui.apply(s.setup);
            ui.set(Key::Lesson, &k.to_string());
        }
        ui
    }
}
