//! A long session natively (issue 20, part 3): the page's state
//! (`ui::page_state`) with the page's real worker logic answering runs the
//! soak plan (`tests/soak/plan.json`, shared with the browser's soak test):
//! every experiment on every built-in task, round after round, with model
//! switches, cancels and "Forget downloaded models": 5 rounds (every task,
//! two cancels) in the suite, `SOAK_ROUNDS=13` for the longer campaign (the
//! page's soak runs over 200). The heap is counted (`memory::Counting`, as in
//! the page's worker): after the last round it is back within a bound per
//! round of where it was after the first (a leak of the size the tokenizers'
//! word cache had, +400 KB a round, fails it within the suite's rounds), and
//! the last run's JSON equals a fresh page's for the same settings. The test
//! binary holds this one test, so nothing else allocates beside it.

use sharpening_lab::app::jobs;
use sharpening_lab::app::protocol::{Command, FromWorker, ToWorker};
use sharpening_lab::app::session::{self, Session};
use sharpening_lab::memory::{self, Counting};
use sharpening_lab::ui::page_state::{Effect, Input, PageState, Status};

#[global_allocator]
static ALLOC: Counting = Counting;

/// The heap may end at most this far above its level after the first
/// round (the same task loaded, one result per experiment kept), per round
/// measured, and never more than [`MAX_BOUND_BYTES`].
const BOUND_BYTES_PER_ROUND: usize = 128 << 10;
const MAX_BOUND_BYTES: usize = 1 << 20;

#[derive(serde::Deserialize)]
struct Run {
    view: String,
    settings: String,
    #[serde(default)]
    task: String,
}

#[derive(serde::Deserialize)]
struct Plan {
    tasks: Vec<String>,
    runs: Vec<Run>,
    cancelled: Run,
    #[serde(rename = "final")]
    last: Run,
}

/// The page's worker, natively: the loaded session, the runs it finished.
#[derive(Default)]
struct Worker {
    session: Option<Session>,
    runs_ended: usize,
    failures: Vec<String>,
    /// Cancel the next job as soon as it is posted (the user's click).
    cancel_next: bool,
}

impl Worker {
    /// Carries out `fx` as the browser layer and the worker would, feeding
    /// every answer back into the state, until nothing is left to do.
    fn serve(&mut self, st: &mut PageState, fx: Vec<Effect>) {
        let mut queue: std::collections::VecDeque<Effect> = fx.into();
        while let Some(e) = queue.pop_front() {
            let answers = match e {
                Effect::RestartWorker => {
                    self.session = None;
                    vec![FromWorker::Started]
                }
                Effect::RunEnded => {
                    self.runs_ended += 1;
                    vec![]
                }
                Effect::Post(ToWorker::Command(Command::Load { task })) => {
                    let f = sharpening_lab::builtin::files(&task).unwrap();
                    let s = session::load(&task, f.config, f.weights, f.tokenizer, 0.0).unwrap();
                    let info = s.info.clone();
                    self.session = Some(s);
                    vec![FromWorker::Loaded(info)]
                }
                Effect::Post(ToWorker::Command(Command::SetBackend { .. })) => vec![FromWorker::Backend { gpu: false, text: "CPU (chosen)".into() }],
                Effect::Post(ToWorker::Command(Command::ForgetModels)) => vec![FromWorker::ModelsForgotten { files: 0 }],
                Effect::Post(ToWorker::Command(c)) => panic!("the soak loads built-in models only: {c:?}"),
                Effect::Post(ToWorker::Job(_)) if self.cancel_next => {
                    self.cancel_next = false;
                    queue.extend(st.update(Input::Cancel));
                    vec![]
                }
                Effect::Post(ToWorker::Job(job)) => {
                    let s = self.session.as_ref().expect("a job after a load");
                    let mut msgs = Vec::new();
                    let last = jobs::run_on_cpu(s, job, &mut |m| msgs.push(m), &|| 0.0);
                    if let FromWorker::Failed { message } = &last {
                        self.failures.push(message.clone());
                    }
                    msgs.push(last);
                    msgs
                }
                _ => vec![],
            };
            for m in answers {
                queue.extend(st.update(Input::Worker(m)));
            }
        }
    }

    /// Applies `hash` as the user would (editing the link) and runs its view.
    fn run(&mut self, st: &mut PageState, hash: &str) -> String {
        let fx = st.update(Input::Hash(hash.into()));
        self.serve(st, fx);
        assert!(matches!(st.status, Status::Ready | Status::Done), "{hash}: {:?} {:?}", st.status, st.error);
        let (before, cancelling) = (self.runs_ended, self.cancel_next);
        let fx = st.update(Input::Run(vec![]));
        self.serve(st, fx);
        if !cancelling && self.runs_ended == before {
            panic!("{hash}: no run ended ({:?}, {:?})", st.status, st.error);
        }
        let (_, _, json) = sharpening_lab::ui::screen::download(st, sharpening_lab::app::protocol::Download::Json).unwrap_or_default();
        String::from_utf8(json).unwrap()
    }
}

fn hash(task: &str, r: &Run, round: usize) -> String {
    format!("#view={}&task={task}&{}&seed={round}", r.view, r.settings)
}

/// Fresh tokenizers leave (almost) nothing behind: tokenizers 0.23's BPE
/// word cache outlives its tokenizer (a thread-local map), so the lab turns
/// it off (`model::tokenizer`); each instance still registers one empty map.
fn fresh_tokenizers_leave_under_200_bytes_each() {
    let json = sharpening_lab::builtin::files("add").unwrap().tokenizer;
    let once = || {
        let t = sharpening_lab::model::tokenizer::Tok::from_json(json).unwrap();
        for p in ["39+25=", "1+2=", "77+13="] {
            t.encode_prompt(p).unwrap();
        }
    };
    once();
    let before = memory::stats().live_bytes;
    for _ in 0..100 {
        once();
    }
    let grew = memory::stats().live_bytes as i64 - before as i64;
    eprintln!("100 fresh tokenizers, 3 prompts each: the heap grew by {grew} B");
    assert!(grew < 100 * 200, "{grew} B");
}

#[test]
fn a_hundred_runs_leave_the_heap_where_it_was() {
    fresh_tokenizers_leave_under_200_bytes_each();
    let plan: Plan = serde_json::from_str(include_str!("soak/plan.json")).unwrap();
    let (mut st, mut w) = (PageState::new("#task=add"), Worker::default());
    let fx = st.update(Input::Worker(FromWorker::Started));
    w.serve(&mut st, fx);
    // Five rounds in the suite (every task, add twice, two cancels); the
    // page's soak runs the 200 and more (tests/e2e/soak.test.mjs).
    let rounds: usize = std::env::var("SOAK_ROUNDS").ok().map_or(5, |r| r.parse().expect("SOAK_ROUNDS: a number of rounds"));
    assert!(rounds >= 5, "SOAK_ROUNDS: at least 5 (every task and two cancels)");
    let mut start = None;
    for round in 0..rounds {
        let task = &plan.tasks[round % plan.tasks.len()];
        for r in &plan.runs {
            w.run(&mut st, &hash(task, r, round));
        }
        if round % 3 == 1 {
            w.cancel_next = true;
            w.run(&mut st, &hash(task, &plan.cancelled, round));
            assert!(st.notices.iter().any(|n| n.starts_with("Cancelled")), "{:?}", st.notices);
            let fx = st.update(Input::ForgetModels);
            w.serve(&mut st, fx);
        }
        if round == 0 {
            start = Some(memory::stats().live_bytes);
        }
        eprintln!("round {round} ({task}): {} B", memory::stats().live_bytes);
    }
    // Back to the first round's settings and model for the measurement.
    for r in &plan.runs {
        w.run(&mut st, &hash(&plan.tasks[0], r, 0));
    }
    let end = memory::stats().live_bytes;
    let start = start.unwrap();
    let runs = w.runs_ended;
    eprintln!("soak: {runs} runs ended ({} rounds of {} experiments on {:?}, a cancel and a forget every third round); heap in use after round 1 {start} B, after the last {end} B ({:+} B), peak {} B", rounds + 1, plan.runs.len(), plan.tasks, end as i64 - start as i64, memory::stats().peak_bytes);
    assert!(runs >= rounds * plan.runs.len(), "{runs} runs");
    assert!(w.failures.is_empty(), "{:?}", w.failures);
    // The rounds after the first, and the one back to the first task.
    let bound = (BOUND_BYTES_PER_ROUND * rounds).min(MAX_BOUND_BYTES);
    assert!(end <= start + bound, "the heap grew by {} B over {rounds} rounds (bound {bound} B)", end - start);
    // The last run equals a fresh page's for the same settings.
    let last = format!("#view={}&task={}&{}", plan.last.view, plan.last.task, plan.last.settings);
    let after_soak = w.run(&mut st, &last);
    let (mut fresh, mut fw) = (PageState::new("#task=add"), Worker::default());
    let fx = fresh.update(Input::Worker(FromWorker::Started));
    fw.serve(&mut fresh, fx);
    assert_eq!(after_soak, fw.run(&mut fresh, &last), "the soaked page and a fresh one disagree");
    assert!(after_soak.contains("\"command\":\"bon\""));
}
