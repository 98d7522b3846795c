//! The guided lesson (`ui::lesson`, `ui::lesson_steps`) and the glossary
//! (`ui::glossary`): every step's settings are valid and open the right
//! experiment, a link keeps a student's change, Next starts the next step
//! afresh (and runs it when it is short), the morph animation plays and
//! stops, every symbol the issue lists is explained, the tooltips leave
//! charts and controls alone, and the teacher notes list every step.

use sharpening_lab::app::protocol::{Command, FromWorker, Job, ToWorker};
use sharpening_lab::app::session;
use sharpening_lab::app::{jobs, Experiment};
use sharpening_lab::ui::glossary::{gloss, glossary_html, TERMS};
use sharpening_lab::ui::lesson::{self, STEPS};
use sharpening_lab::ui::page_state::{Effect, Input, PageState, Status};
use sharpening_lab::ui::params::{Key, UiState};
use sharpening_lab::ui::screen;

#[test]
fn every_step_opens_its_experiment_with_valid_settings() {
    assert!((8..=12).contains(&lesson::count()), "about 8-12 steps");
    for (i, s) in STEPS.iter().enumerate() {
        let k = i + 1;
        let mut ui = UiState::default();
        let msgs = ui.apply(s.setup);
        assert!(msgs.is_empty(), "step {k}'s settings are all valid: {msgs:?}");
        let (opened, msgs) = UiState::from_hash(&format!("#lesson={k}"));
        assert!(msgs.is_empty(), "{msgs:?}");
        assert_eq!(opened.lesson(), k);
        assert_eq!(opened.view(), ui.view(), "step {k} opens its experiment");
        assert_eq!(opened.task(), ui.task());
        assert!(!s.text.is_empty() && !s.try_this.is_empty() && !s.question.is_empty() && !s.answer.is_empty(), "step {k} is complete");
        if let Some((_, settings)) = s.action {
            assert!(UiState::default().apply(settings).is_empty(), "step {k}'s button applies valid settings");
        }
        let intro = lesson::intro_html(&opened);
        assert!(intro.contains(&format!("aria-current=\"step\">{k}<")), "the step list marks step {k}");
        let tasks = lesson::tasks_html(&opened);
        assert!(tasks.contains("Show the answer") && tasks.contains(&format!("data-step=\"{}\"", if k < lesson::count() { k + 1 } else { 0 })));
    }
    // Out of range: clamped, in words.
    let (ui, msgs) = UiState::from_hash("#lesson=99");
    assert_eq!(ui.lesson(), lesson::count());
    assert!(msgs.iter().any(|m| m.contains("Lesson step")), "{msgs:?}");
    // No lesson: the invitation to start it.
    assert!(lesson::intro_html(&UiState::default()).contains("data-step=\"1\""));
    assert_eq!(lesson::tasks_html(&UiState::default()), "");
    // The worksheet has every step and question, and no answers.
    let sheet = lesson::worksheet_html();
    for s in STEPS {
        assert!(sheet.contains(&sharpening_lab::ui::svg::esc(s.title)) && !sheet.contains(&sharpening_lab::ui::svg::esc(s.answer)));
    }
}

#[test]
fn a_link_keeps_a_students_change_and_next_starts_afresh() {
    // Step 4 with a changed sample count: the link's value overrides the step's.
    let (ui, msgs) = UiState::from_hash("#lesson=4&sft_n=2");
    assert!(msgs.is_empty());
    assert_eq!((ui.view(), ui.get(Key::SftN), ui.get(Key::Steps)), (Experiment::Sft, "2", "40"));
    // What the page writes reads back the same.
    assert_eq!(UiState::from_hash(&ui.to_hash()).0, ui);
    // Next: step 5's own settings, not step 4's changed ones; embedding stays.
    let mut st = PageState::new("#lesson=4&sft_n=2&embed=1");
    st.update(Input::Lesson(5));
    assert_eq!((st.ui.lesson(), st.ui.get(Key::SftN), st.ui.get(Key::Watch), st.ui.embed), (5, "8", "", true));
    st.update(Input::Lesson(0));
    assert_eq!((st.ui.lesson(), st.ui.view()), (0, Experiment::Explore));
}

/// Loads the built-in model for the state's task and answers every job
/// with the worker's logic; returns the jobs posted.
fn serve(st: &mut PageState, mut fx: Vec<Effect>) -> Vec<Job> {
    let mut jobs_seen = Vec::new();
    let mut s = None;
    while let Some(e) = fx.pop() {
        let Effect::Post(msg) = e else { continue };
        match msg {
            ToWorker::Command(Command::Load { task }) => {
                let f = sharpening_lab::builtin::files(&task).unwrap();
                let loaded = session::load(&task, f.config, f.weights, f.tokenizer, 0.0).unwrap();
                fx.extend(st.update(Input::Worker(FromWorker::Loaded(loaded.info.clone()))));
                s = Some(loaded);
            }
            ToWorker::Command(Command::SetBackend { .. }) => fx.extend(st.update(Input::Worker(FromWorker::Backend { gpu: false, text: "CPU".into() }))),
            ToWorker::Job(job) => {
                jobs_seen.push(job.clone());
                let mut msgs = Vec::new();
                let last = jobs::run_on_cpu(s.as_ref().expect("loaded"), job, &mut |m| msgs.push(m), &|| 0.0);
                msgs.push(last);
                for m in msgs {
                    fx.extend(st.update(Input::Worker(m)));
                }
            }
            _ => {}
        }
    }
    jobs_seen
}

#[test]
fn a_short_step_runs_by_itself_and_its_animation_plays() {
    let mut st = PageState::new("#lesson=5&steps=10&eval_every=2&sft_prompts=8");
    let fx = st.update(Input::Worker(FromWorker::Started));
    let jobs = serve(&mut st, fx);
    assert!(matches!(jobs[..], [Job::Sft { .. }]), "step 5 runs by itself: {jobs:?}");
    assert_eq!(st.status, Status::Done);
    // The finished run replays from the base model.
    let live = st.results.live(Experiment::Sft).unwrap();
    assert!(live.playing && live.shown == 0 && live.watched.len() == 6, "{} {} {}", live.playing, live.shown, live.watched.len());
    let mut frames = 0;
    while st.results.live(Experiment::Sft).unwrap().playing {
        assert!(!st.update(Input::Tick).is_empty());
        frames += 1;
    }
    assert_eq!(frames, 6, "five frames forward, then it stops");
    assert_eq!(st.results.live(Experiment::Sft).unwrap().shown, 5);
    let m = screen::morph(&st).unwrap();
    assert!(!m.playing && m.label.contains("after step 10"), "{}", m.label);
    // Play at the end starts again at the base model; the slider pauses it.
    st.update(Input::Play);
    assert_eq!(st.results.live(Experiment::Sft).unwrap().shown, 0);
    st.update(Input::Morph(3));
    assert!(!st.results.live(Experiment::Sft).unwrap().playing);
    assert!(st.update(Input::Tick).is_empty(), "a paused chart does not move");
    // With reduced motion nothing plays by itself.
    let mut st = PageState::new("#lesson=5&steps=4&eval_every=2&sft_prompts=4");
    st.reduced_motion = true;
    let fx = st.update(Input::Worker(FromWorker::Started));
    serve(&mut st, fx);
    assert!(!st.results.live(Experiment::Sft).unwrap().playing);
    // A step that waits for the student: ready, no job; its button loads another model.
    let k = STEPS.iter().position(|s| !s.autorun).unwrap() + 1;
    let mut st = PageState::new(&format!("#lesson={k}"));
    let fx = st.update(Input::Worker(FromWorker::Started));
    assert!(serve(&mut st, fx).is_empty());
    assert_eq!(st.status, Status::Ready);
    let fx = st.update(Input::Settings(STEPS[k - 1].action.unwrap().1.into()));
    assert!(fx.iter().any(|e| matches!(e, Effect::Post(ToWorker::Command(Command::LoadUrl { url, .. })) if url == lesson::SMOLLM2_URL)), "{fx:?}");
    assert_eq!(st.ui.lesson(), k, "the step stays");
}

#[test]
fn every_symbol_is_explained_and_tooltips_leave_charts_and_controls_alone() {
    for t in ["pi(y*)", "y*", "C_cov", "delta", "beta", "KL", "pass@N", "self-reward", "pi_base", "best-of-N", "eps", "alpha", "entropy", "nats"] {
        assert!(TERMS.iter().any(|(x, _)| *x == t), "{t} is in the glossary");
    }
    let list = glossary_html();
    assert_eq!(list.matches("<dt>").count(), TERMS.len());
    let html = "<p>pi(y*) is where y* goes; pi(y*) again, and KL(pi || pi_base).</p><svg><text>C_cov</text></svg><button>beta</button><p>C_cov and beta</p>";
    let out = gloss(html, &mut Vec::new());
    assert_eq!(out.matches("class=\"term\"").count(), 6, "pi(y*), y*, KL, pi_base, C_cov, beta once each: {out}");
    assert!(out.contains("<svg><text>C_cov</text></svg><button>beta</button>"), "charts and buttons untouched: {out}");
    assert!(out.contains("; pi(y*) again"), "only the first appearance: {out}");
    // Word boundaries: "beta" is not found inside "betamax", "KL" not in "KLM".
    assert!(!gloss("<p>betamax KLM</p>", &mut Vec::new()).contains("term"));
    // The lesson's own text explains its symbols.
    let (ui, _) = UiState::from_hash("#lesson=6");
    assert!(lesson::text_html(&ui).contains("class=\"term\""));
}

#[test]
fn the_teacher_notes_link_every_step() {
    let notes = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/www/teachers.html")).unwrap();
    for (i, s) in STEPS.iter().enumerate() {
        let title = s.title.replace('\u{2212}', "−");
        assert!(notes.contains(&format!("{}. {title}", i + 1)), "teachers.html names step {}: {title}", i + 1);
        assert!(notes.contains(&format!("index.html#lesson={}", i + 1)));
    }
    let index = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/www/index.html")).unwrap();
    assert!(index.contains("href=\"teachers.html\""), "the page ships the notes");
    let sw = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/www/sw.js")).unwrap();
    assert!(sw.contains("\"teachers.html\""), "and keeps them offline");
}
