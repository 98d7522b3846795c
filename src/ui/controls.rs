//! The controls of the current view, as HTML generated from the parameter list
//! (`params.rs`): every control has a label, a name the page's single event
//! handler reads, and its valid range; hidden ones (`<key>_hide=1`) are left out.

use super::params::{Kind, Key, UiState, PARAMS};
use super::svg::esc;
use crate::tasks::{self, Task};

/// Prompts offered in the prompt fields' suggestion list: ordinary ones and
/// marked ones (where the model's favourite answer is a systematic error).
pub fn prompt_suggestions(t: &dyn Task) -> String {
    let n = t.num_problems();
    let all: Vec<_> = (0..n).step_by((n / 40).max(1)).map(|i| t.problem(i)).collect();
    let plain = all.iter().filter(|q| !q.marked).take(6);
    let marked = all.iter().filter(|q| q.marked).take(4);
    let options: String = plain
        .chain(marked)
        .map(|q| format!("<option value=\"{}\">{}</option>", esc(&q.prompt), if q.marked { "marked" } else { "" }))
        .collect();
    format!("<datalist id=\"prompt-suggestions\">{options}</datalist>")
}

/// Which controls: the model's (one place for every experiment), the
/// current experiment's main ones, or its others ("More settings").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    Model,
    Main,
    More,
}

/// The parameters that choose the model, shown once for every experiment.
pub const MODEL_KEYS: [Key; 4] = [Key::Task, Key::Model, Key::Backend, Key::EvalShare];

impl Group {
    pub fn of(key: Key, view: crate::app::Experiment) -> Group {
        if MODEL_KEYS.contains(&key) {
            Group::Model
        } else if super::experiments::entry(view).main.contains(&key) {
            Group::Main
        } else {
            Group::More
        }
    }
}

/// The controls of `group` for the current view.
pub fn controls_html(s: &UiState, group: Group) -> String {
    let view = s.view();
    let task = tasks::by_name(s.task()).ok();
    let mut o = String::new();
    // The held-out share is for the user's own prompt set only.
    let shown = |k: Key| !s.is_hidden(k) && (k != Key::EvalShare || s.task() == "custom");
    for p in PARAMS.iter().filter(|p| p.views.contains(&view) && shown(p.key) && Group::of(p.key, view) == group) {
        let id = format!("ctl-{}", p.name);
        let v = esc(s.get(p.key));
        let title = esc(p.help);
        let label = esc(p.label);
        let field = match p.kind {
            Kind::Choice(opts) => {
                let options: String = opts
                    .iter()
                    .map(|o| format!("<option value=\"{0}\"{1}>{0}</option>", esc(o), if s.get(p.key) == *o { " selected" } else { "" }))
                    .collect();
                format!("<label for=\"{id}\">{label}</label><select id=\"{id}\" name=\"{}\" title=\"{title}\">{options}</select>", p.name)
            }
            Kind::ChoiceSet(opts) => {
                let chosen: Vec<&str> = s.get(p.key).split(',').collect();
                let boxes: String = opts
                    .iter()
                    .map(|o| {
                        format!(
                            "<label class=\"check\"><input type=\"checkbox\" name=\"{}\" value=\"{1}\"{2}> {1}</label>",
                            p.name,
                            esc(o),
                            if chosen.contains(o) { " checked" } else { "" }
                        )
                    })
                    .collect();
                o.push_str(&format!("<fieldset class=\"control wide\" title=\"{title}\"><legend>{label}</legend>{boxes}</fieldset>"));
                continue;
            }
            Kind::Int { min, max } => format!(
                "<label for=\"{id}\">{label}</label><input id=\"{id}\" name=\"{}\" type=\"number\" inputmode=\"numeric\" min=\"{min}\" max=\"{max}\" step=\"1\" value=\"{v}\" title=\"{title}\">",
                p.name
            ),
            Kind::Float { min, max } => format!(
                "<label for=\"{id}\">{label}</label><input id=\"{id}\" name=\"{}\" type=\"number\" inputmode=\"decimal\" min=\"{min}\" max=\"{max}\" step=\"any\" value=\"{v}\" title=\"{title}\">",
                p.name
            ),
            Kind::IntList { .. } | Kind::FloatList { .. } => format!(
                "<label for=\"{id}\">{label}</label><input id=\"{id}\" name=\"{}\" type=\"text\" autocomplete=\"off\" spellcheck=\"false\" value=\"{v}\" title=\"{title}\">",
                p.name
            ),
            Kind::Text { .. } if p.key == Key::Model => format!(
                "<label for=\"{id}\">{label}</label><input id=\"{id}\" name=\"model\" type=\"url\" autocomplete=\"off\" spellcheck=\"false\" value=\"{v}\" title=\"{title}\" placeholder=\"https://…/model.gguf\">"
            ),
            Kind::Text { .. } => {
                let first = task.as_ref().map(|t| t.problem(0).prompt).unwrap_or_default();
                let placeholder = if p.key == Key::Prompt { first } else { "first wrong-y* prompt".into() };
                format!(
                    "<label for=\"{id}\">{label}</label><input id=\"{id}\" name=\"{}\" type=\"text\" list=\"prompt-suggestions\" autocomplete=\"off\" spellcheck=\"false\" value=\"{v}\" title=\"{title}\" placeholder=\"{}\">",
                    p.name,
                    esc(&placeholder)
                )
            }
        };
        o.push_str(&format!("<div class=\"control\">{field}</div>"));
    }
    if let (Some(t), Group::Main) = (&task, group) {
        o.push_str(&prompt_suggestions(t.as_ref()));
    }
    o
}
