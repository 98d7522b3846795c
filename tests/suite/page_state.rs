//! The page's state update (`ui::page_state`) run natively: the worker's
//! life cycle (start, load, choose the backend, run the explorer by itself),
//! a run's progress and result, cancel and crash, control and hash changes
//! and the typed messages each posts, with the page's real worker logic
//! answering (`app::jobs` on the built-in model).

use sharpening_lab::app::protocol::{Command, FromWorker, Job, ToWorker};
use sharpening_lab::app::session::{self, Session};
use sharpening_lab::app::{jobs, Experiment};
use sharpening_lab::ui::page_state::{Effect, Input, PageState, Part, Status};
use sharpening_lab::ui::params::Key;
use sharpening_lab::ui::screen;

fn session(task: &str) -> Session {
    let f = sharpening_lab::builtin::files(task).unwrap();
    session::load(task, f.config, f.weights, f.tokenizer, 0.0).unwrap()
}

fn posted(fx: &[Effect]) -> Vec<&ToWorker> {
    fx.iter().filter_map(|e| if let Effect::Post(m) = e { Some(m) } else { None }).collect()
}

/// Answers every job the effects post with the worker's logic and feeds the
/// messages back; returns every effect seen.
fn serve(st: &mut PageState, s: &Session, mut fx: Vec<Effect>) -> Vec<Effect> {
    let mut seen = Vec::new();
    while let Some(e) = fx.pop() {
        if let Effect::Post(ToWorker::Job(job)) = &e {
            let mut msgs = Vec::new();
            let last = jobs::run_on_cpu(s, job.clone(), &mut |m| msgs.push(m), &|| 0.0);
            msgs.push(last);
            for m in msgs {
                fx.extend(st.update(Input::Worker(m)));
            }
        }
        seen.push(e);
    }
    seen
}

#[test]
fn load_backend_and_the_explorer_runs_by_itself() {
    let s = session("add");
    let mut st = PageState::new("#task=add&samples=4&seed=2");
    assert_eq!(st.status, Status::Loading);
    let fx = st.update(Input::Worker(FromWorker::Started));
    assert!(matches!(posted(&fx)[..], [ToWorker::Command(Command::Load { task })] if task == "add"));
    let fx = st.update(Input::Worker(FromWorker::Loaded(s.info.clone())));
    assert!(matches!(posted(&fx)[..], [ToWorker::Command(Command::SetBackend { .. })]), "the backend is chosen after the load");
    assert!(fx.iter().any(|e| matches!(e, Effect::FirstReady)));
    assert_eq!((st.status, screen::backend_line(&st)), (Status::Ready, "choosing…"));
    let fx = st.update(Input::Worker(FromWorker::Backend { gpu: false, text: "CPU (chosen)".into() }));
    let Some(ToWorker::Job(Job::Explore(p))) = posted(&fx).first() else { panic!("the explorer starts once the backend is chosen: {fx:?}") };
    assert_eq!((p.n, p.seed), (4, 2));
    assert_eq!((st.status, st.running), (Status::Running, Some(Experiment::Explore)));
    let seen = serve(&mut st, &s, fx);
    assert!(seen.iter().any(|e| matches!(e, Effect::RunEnded)));
    assert_eq!((st.status, st.running), (Status::Done, None));
    let html = screen::results_html(&st);
    assert!(html.contains("data-what=\"json\"") && html.contains("picked by"), "{html}");
    let (name, mime, text) = screen::download(&st, sharpening_lab::app::protocol::Download::Json).unwrap();
    assert_eq!((name.as_str(), mime), ("sharpening-explore-add-seed2.json", "application/json"));
    assert!(String::from_utf8_lossy(&text).contains("\"command\":\"explore\""));
}

#[test]
fn a_training_run_streams_and_cancel_keeps_it() {
    let s = session("mul");
    let mut st = PageState::new("#view=sft&task=mul&sft_prompts=6&sft_n=4&steps=4&eval_every=2");
    st.update(Input::Worker(FromWorker::Loaded(s.info.clone())));
    st.update(Input::Worker(FromWorker::Backend { gpu: false, text: "CPU".into() }));
    assert!(st.running.is_none(), "only the explorer runs by itself");
    // A control read at Run time wins over the state.
    let fx = st.update(Input::Run(vec![(Key::Steps, "2".into())]));
    let Some(ToWorker::Job(Job::Sft { params, .. })) = posted(&fx).first() else { panic!() };
    assert_eq!(params.steps, 2);
    assert_eq!(st.ui.get(Key::Steps), "2");
    serve(&mut st, &s, fx);
    let live = st.results.live(Experiment::Sft).unwrap();
    assert_eq!((live.steps.len(), live.watched.len()), (2, 2), "evaluations at steps 0 and 2 streamed");
    assert!(screen::results_html(&st).contains("Training set:"), "the finished run's summary");
    // A run cancelled before it ends keeps its curves, marked as cancelled.
    let fx = st.update(Input::Run(vec![]));
    st.update(Input::Worker(FromWorker::Progress { done: 1, total: 6, unit: "steps".into() }));
    assert!(posted(&fx).len() == 1);
    let fx = st.update(Input::Cancel);
    assert!(fx.iter().any(|e| matches!(e, Effect::RestartWorker)));
    assert_eq!((st.status, st.running, st.info.is_none()), (Status::Loading, None, true));
    assert!(st.notices[0].starts_with("Cancelled after 1 / 6 steps"), "{:?}", st.notices);
    assert!(st.results.live(Experiment::Sft).unwrap().cancelled);
    assert!(screen::results_html(&st).contains("This run was cancelled"));
}

#[test]
fn controls_hash_and_failures() {
    let s = session("add");
    let mut st = PageState::new("#samples=9999&bogus=1");
    assert_eq!(st.ui.get(Key::Samples), "256");
    assert_eq!(st.notices.len(), 2, "{:?}", st.notices);
    st.update(Input::Worker(FromWorker::Loaded(s.info.clone())));
    // A clamped control shows its canonical value; a backend change asks the worker.
    let fx = st.update(Input::Control(Key::Seed, "-3".into()));
    assert!(fx.iter().any(|e| matches!(e, Effect::ShowValue(Key::Seed, v) if v == "0")));
    let fx = st.update(Input::Control(Key::Backend, "gpu".into()));
    assert!(matches!(posted(&fx)[..], [ToWorker::Command(Command::SetBackend { backend: sharpening_lab::app::backend::Backend::Gpu })]));
    // A task change drops the results and loads the task's model.
    let fx = st.update(Input::Control(Key::Task, "mul".into()));
    assert!(matches!(posted(&fx)[..], [ToWorker::Command(Command::Load { task })] if task == "mul"));
    assert_eq!(st.status, Status::Loading);
    // A model URL loads from it; a picked file when the URL is empty.
    st.update(Input::Hash("#task=arithmetic&model=https%3A%2F%2Fx%2Fm.gguf".into()));
    assert!(matches!(st.load_command(), ToWorker::Command(Command::LoadUrl { url, .. }) if url == "https://x/m.gguf"));
    let fx = st.update(Input::FileChosen);
    assert!(matches!(posted(&fx)[..], [ToWorker::Command(Command::LoadFiles { .. })]));
    assert!(fx.iter().any(|e| matches!(e, Effect::ShowValue(Key::Model, v) if v.is_empty())));
    // A failure is shown and the page stays usable.
    let fx = st.update(Input::Worker(FromWorker::Failed { message: "no".into() }));
    assert!(fx.iter().any(|e| matches!(e, Effect::Render(Part::All))));
    assert_eq!((st.status, st.error.as_deref()), (Status::Error, Some("no")));
    // A worker crash restarts it and says so.
    let fx = st.update(Input::WorkerCrashed("out of memory".into()));
    assert!(fx.iter().any(|e| matches!(e, Effect::RestartWorker)));
    assert!(st.error.as_deref().unwrap().contains("out of memory"));
}

/// The user's files (a prompt set, its held-out second file, a LoRA
/// adapter) travel with every load of a real model; the held-out share
/// splits a one-file set anew, and a file that cannot be used is refused in
/// words without loading anything.
#[test]
fn the_users_files_go_with_every_real_model_load() {
    use sharpening_lab::app::protocol::RealExtras;
    use sharpening_lab::ui::user_files::Picked;
    let s = session("add");
    let mut st = PageState::new("#task=add");
    st.update(Input::Worker(FromWorker::Loaded(s.info.clone())));
    let file = |name: &str, text: &str| vec![(name.to_string(), text.as_bytes().to_vec())];
    let adapter = vec![("run-adapter_config.json".to_string(), b"{}".to_vec()), ("run-adapter_model.safetensors".to_string(), vec![0u8; 8])];
    // An adapter needs a real model under it.
    let fx = st.update(Input::FilesRead(Picked::Adapter, adapter.clone()));
    assert!(posted(&fx).is_empty() && st.error.as_deref().unwrap().contains("real model"), "{:?}", st.error);
    let extras = |fx: &[Effect]| match posted(fx)[..] {
        [ToWorker::Command(Command::LoadUrl { task, extras, .. })] => (task.clone(), extras.clone()),
        ref other => panic!("expected one LoadUrl, got {other:?}"),
    };
    st.update(Input::Hash("#task=arithmetic&model=https%3A%2F%2Fx%2Fm.gguf".into()));
    // A second file before the first is refused.
    let fx = st.update(Input::FilesRead(Picked::EvalPrompts, file("test.jsonl", "{}")));
    assert!(posted(&fx).is_empty() && st.error.as_deref().unwrap().contains("first"), "{:?}", st.error);
    let fx = st.update(Input::FilesRead(Picked::Prompts, vec![("bad.jsonl".into(), vec![0xff, 0xfe])]));
    assert!(posted(&fx).is_empty() && st.error.as_deref().unwrap().contains("UTF-8"));
    // One file: task custom, held out by the share, which reloads when changed.
    let (task, e) = extras(&st.update(Input::FilesRead(Picked::Prompts, file("mine.jsonl", "{\"prompt\": \"a\", \"answer\": 1}"))));
    assert_eq!(task, "custom");
    let p = e.prompts.unwrap();
    assert_eq!((p.train.name.as_str(), p.eval.is_none(), p.eval_share), ("mine.jsonl", true, 0.3));
    let (_, e) = extras(&st.update(Input::Control(Key::EvalShare, "0.5".into())));
    assert_eq!(e.prompts.unwrap().eval_share, 0.5);
    // Two files: the second is the held-out set and the share no longer matters.
    let (_, e) = extras(&st.update(Input::FilesRead(Picked::EvalPrompts, file("test.jsonl", "{\"prompt\": \"b\", \"answer\": 2}"))));
    assert_eq!(e.prompts.unwrap().eval.unwrap().name, "test.jsonl");
    assert!(posted(&st.update(Input::Control(Key::EvalShare, "0.4".into()))).is_empty());
    // An adapter is both files or nothing; chosen, it goes with the load; removed, it does not.
    let fx = st.update(Input::FilesRead(Picked::Adapter, adapter[..1].to_vec()));
    assert!(posted(&fx).is_empty() && st.error.as_deref().unwrap().contains("two files"));
    let (_, e) = extras(&st.update(Input::FilesRead(Picked::Adapter, adapter)));
    assert_eq!(e.adapter.map(|a| (a.config, a.weights.len())), Some((b"{}".to_vec(), 8)));
    let (_, e): (String, RealExtras) = extras(&st.update(Input::FilesRead(Picked::Adapter, vec![])));
    assert!(e.adapter.is_none() && e.prompts.is_some());
    // The built-in tasks load without any of it.
    let fx = st.update(Input::Hash("#task=add".into()));
    assert!(matches!(posted(&fx)[..], [ToWorker::Command(Command::Load { .. })]));
}

/// A real model that does not arrive (a stalled download) can be
/// cancelled: the page lets the URL go and loads the task's built-in model
/// in a fresh worker; with nothing loading or running, Cancel does nothing.
#[test]
fn a_stalled_model_load_can_be_cancelled() {
    let s = session("add");
    let mut st = PageState::new("#task=add");
    st.update(Input::Worker(FromWorker::Loaded(s.info.clone())));
    assert!(!st.can_cancel());
    assert!(st.update(Input::Cancel).is_empty(), "nothing to cancel");
    st.update(Input::Hash("#task=add&model=https%3A%2F%2Fslow.example%2Fm.gguf".into()));
    assert_eq!(st.status, Status::Loading);
    assert!(st.can_cancel(), "a model that is loading can be cancelled");
    let fx = st.update(Input::Cancel);
    assert!(fx.iter().any(|e| matches!(e, Effect::RestartWorker)));
    assert!(fx.iter().any(|e| matches!(e, Effect::ShowValue(Key::Model, v) if v.is_empty())));
    assert!(st.notices[0].contains("cancelled"), "{:?}", st.notices);
    assert!(matches!(st.load_command(), ToWorker::Command(Command::Load { task }) if task == "add"), "the fresh worker loads the built-in model");
    let fx = st.update(Input::Worker(FromWorker::Started));
    assert!(matches!(posted(&fx)[..], [ToWorker::Command(Command::Load { .. })]));
    st.update(Input::Worker(FromWorker::Loaded(s.info.clone())));
    assert!(st.info.is_some() && !st.can_cancel());
}

/// Leaving a real model gives its memory back (a fresh worker: WebAssembly
/// memory never shrinks); a built-in model change keeps the worker. "Forget
/// downloaded models" asks the worker and says what it forgot.
#[test]
fn leaving_a_real_model_replaces_the_worker_and_forgetting_models_is_said() {
    let s = session("add");
    let mut st = PageState::new("#task=add");
    st.update(Input::Worker(FromWorker::Loaded(s.info.clone())));
    let fx = st.update(Input::Hash("#task=mul".into()));
    assert!(matches!(posted(&fx)[..], [ToWorker::Command(Command::Load { task })] if task == "mul"), "a built-in switch loads in the same worker");
    assert!(!fx.iter().any(|e| matches!(e, Effect::RestartWorker)));
    st.update(Input::Hash("#task=arithmetic&model=%2Freal%2Fm.gguf".into()));
    let mut real = s.info.clone();
    (real.real, real.task) = (true, "arithmetic".into());
    st.update(Input::Worker(FromWorker::Loaded(real)));
    let fx = st.update(Input::Hash("#task=add".into()));
    assert!(fx.iter().any(|e| matches!(e, Effect::RestartWorker)), "leaving a real model starts a fresh worker: {fx:?}");
    assert!(posted(&fx).is_empty());
    let fx = st.update(Input::ForgetModels);
    assert!(matches!(posted(&fx)[..], [ToWorker::Command(Command::ForgetModels)]));
    st.update(Input::Worker(FromWorker::ModelsForgotten { files: 4 }));
    assert_eq!(st.notices, ["Forgot the downloaded models this browser kept (4 files): the next load of a model URL downloads it again."]);
}

/// A load the user has since replaced does not count: the built-in model
/// arriving after a file was chosen (the file's own answer, here a failure,
/// still comes) leaves the page waiting for, then showing, the file's answer.
#[test]
fn an_answer_to_a_replaced_load_is_ignored() {
    let s = session("add");
    let mut st = PageState::new("#task=add&model=%2Freal%2Fgone.gguf");
    st.update(Input::Worker(FromWorker::Failed { message: "cannot download /real/gone.gguf".into() }));
    st.update(Input::Control(Key::Model, String::new()));
    let fx = st.update(Input::FileChosen);
    assert!(matches!(posted(&fx)[..], [ToWorker::Command(Command::LoadFiles { .. })]));
    st.update(Input::Worker(FromWorker::Loaded(s.info.clone())));
    assert!(st.info.is_none() && st.status == Status::Loading, "the built-in model was asked for before the file: {:?}", st.status);
    st.update(Input::Worker(FromWorker::Failed { message: "cannot load m.gguf: not a GGUF file".into() }));
    assert_eq!((st.status, st.error.as_deref()), (Status::Error, Some("cannot load m.gguf: not a GGUF file")));
}
