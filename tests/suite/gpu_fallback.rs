//! The GPU can fail at any time (issue 20, part 5): a fault in the middle of
//! a run — a lost device, a validation error, a kernel that did not compile —
//! finishes the run on the CPU with a notice and exactly the CPU run's
//! numbers (`app::jobs::run_or_fall_back`, what the page's worker calls).
//! First with a decoder that breaks on purpose (no GPU needed), then on a
//! real device (lavapipe) destroyed in the middle of best-of-N. The browser
//! test (`tests/e2e/faults.test.mjs`) does the same with WebGPU's
//! `device.destroy()` and a shader that fails to compile.

use crate::common;

use sharpening_lab::app::jobs;
use sharpening_lab::app::protocol::{FromWorker, Job};
use sharpening_lab::app::session::{self, Session};
use sharpening_lab::decode::{block_on, on_cpu, Decode, Fut, Score};
use sharpening_lab::error::Error;
use sharpening_lab::score::Scored;
use sharpening_lab::ui::params::UiState;

fn session(task: &str) -> Session {
    let f = sharpening_lab::builtin::files(task).unwrap();
    session::load(task, f.config, f.weights, f.tokenizer, 0.0).unwrap()
}

/// A decoder that runs `inner` and calls `fail` before its `at`-th decoding
/// step (counting `start` and `next` calls); `fail` either returns the
/// fault itself or breaks the device under `inner`.
struct Breaks<'a> {
    inner: Box<dyn Decode + 'a>,
    calls: usize,
    at: usize,
    fail: Box<dyn FnMut() -> Option<Error> + 'a>,
}

impl Breaks<'_> {
    fn tick(&mut self) -> Option<Error> {
        self.calls += 1;
        if self.calls == self.at { (self.fail)() } else { None }
    }
}

impl Score for Breaks<'_> {
    fn token_logps<'a>(&'a mut self, items: &'a [Scored<'a>]) -> Fut<'a, Vec<Vec<f64>>> {
        self.inner.token_logps(items)
    }
}

impl Decode for Breaks<'_> {
    fn max_positions(&self) -> usize {
        self.inner.max_positions()
    }
    fn logits_are_exact(&self) -> bool {
        self.inner.logits_are_exact()
    }
    fn start<'a>(&'a mut self, prompt: &'a [u32], n: usize, max_len: usize) -> Fut<'a, Vec<Vec<f32>>> {
        match self.tick() {
            Some(e) => Box::pin(async move { Err(e) }),
            None => self.inner.start(prompt, n, max_len),
        }
    }
    fn next<'a>(&'a mut self, ids: &'a [u32]) -> Fut<'a, Vec<Vec<f32>>> {
        match self.tick() {
            Some(e) => Box::pin(async move { Err(e) }),
            None => self.inner.next(ids),
        }
    }
    fn label(&self) -> String {
        self.inner.label()
    }
}

fn json_of(m: &FromWorker) -> String {
    match m {
        FromWorker::Done { exports, .. } => exports.json.clone(),
        other => panic!("not a finished run: {other:?}"),
    }
}

/// The run through `dec`: its final JSON, the notices posted, the fault.
fn run_through(s: &Session, job: Job, dec: &mut dyn Decode) -> (String, Vec<String>, Option<String>) {
    let mut notices = Vec::new();
    let (done, fault) = block_on(async { Ok(jobs::run_or_fall_back(s, job, &mut |m| if let FromWorker::Backend { gpu: false, text } = m { notices.push(text) }, &|| 0.0, dec).await) }).unwrap();
    (json_of(&done), notices, fault)
}

fn jobs_of(s: &Session) -> Vec<(&'static str, Job)> {
    let (ui, _) = UiState::from_hash("#view=bon&task=add&n=1,4&prompts=4&seed=3");
    let (ex, _) = UiState::from_hash("#task=add&prompt=39%2B25%3D&seed=5");
    vec![("best-of-N", Job::Bon(ui.bon_params(s.info.max_new_tokens))), ("explorer", Job::Explore(ex.explore_params(s.info.max_new_tokens)))]
}

#[test]
fn a_gpu_fault_mid_run_finishes_on_the_cpu_with_the_cpu_numbers() {
    let s = session("add");
    for (what, job) in jobs_of(&s) {
        let want = json_of(&jobs::run_on_cpu(&s, job.clone(), &mut |_| {}, &|| 0.0));
        // The run's decoding steps, counted without a fault; then a fault at
        // the first, one in the middle and the last.
        let mut count = Breaks { inner: on_cpu(&s.model.llama), calls: 0, at: 0, fail: Box::new(|| None) };
        assert_eq!(run_through(&s, job.clone(), &mut count).0, want);
        let steps = count.calls;
        assert!(steps >= 3, "{what}: {steps} steps");
        for at in [1, steps / 2, steps] {
            let mut dec = Breaks { inner: on_cpu(&s.model.llama), calls: 0, at, fail: Box::new(|| Some(Error::Gpu("the GPU device was lost (test)".into()))) };
            let (got, notices, fault) = run_through(&s, job.clone(), &mut dec);
            assert!(dec.calls >= at, "{what}: the fault at step {at} happened");
            assert_eq!(got, want, "{what}, fault at step {at}: the CPU run's numbers");
            assert_eq!(fault.as_deref(), Some("the GPU device was lost (test)"));
            assert_eq!(notices.len(), 1, "{what}: one notice");
            assert!(notices[0].starts_with("CPU — the GPU failed during the run (the GPU device was lost (test))"), "{}", notices[0]);
        }
        // Another error is a failure, not a fallback.
        let mut dec = Breaks { inner: on_cpu(&s.model.llama), calls: 0, at: 3, fail: Box::new(|| Some(Error::Other("not the GPU".into()))) };
        let mut notices = 0;
        let (done, fault) = block_on(async { Ok(jobs::run_or_fall_back(&s, job.clone(), &mut |m| notices += matches!(m, FromWorker::Backend { .. }) as usize, &|| 0.0, &mut dec).await) }).unwrap();
        assert!(matches!(done, FromWorker::Failed { ref message } if message.contains("not the GPU")), "{what}: {done:?}");
        assert!(fault.is_none() && notices == 0);
    }
}

/// A real device (lavapipe in CI) destroyed in the middle of the run: the
/// next readback fails with `Error::Gpu` (no panic), and the run ends with
/// the CPU's numbers.
#[test]
fn a_device_destroyed_mid_run_finishes_on_the_cpu() {
    use sharpening_lab::gpu::decoder::GpuModel;
    use sharpening_lab::gpu::sample::GpuDecode;
    use sharpening_lab::gpu::Precision;
    let s = session("add");
    for (what, job) in jobs_of(&s) {
        let Some((g, k)) = common::gpu() else { return };
        let gm = GpuModel::new(&g, &k, s.model.llama.config(), &s.model.tensors, Precision::F32).unwrap();
        let want = json_of(&jobs::run_on_cpu(&s, job.clone(), &mut |_| {}, &|| 0.0));
        // Whole on the GPU first, counting its decoding steps (best-of-N's
        // JSON is the CPU's; the explorer's scores differ in the last bits).
        let mut count = Breaks { inner: Box::new(GpuDecode::new(&gm)), calls: 0, at: 0, fail: Box::new(|| None) };
        let (whole, notices, fault) = run_through(&s, job.clone(), &mut count);
        assert!(fault.is_none() && notices.is_empty(), "{what}: {fault:?}");
        if what == "best-of-N" {
            assert_eq!(whole, want, "{what}: GPU = CPU");
        }
        let at = count.calls / 2;
        let device = g.device.clone();
        let mut dec = Breaks { inner: Box::new(GpuDecode::new(&gm)), calls: 0, at, fail: Box::new(move || { device.destroy(); None }) };
        let (got, notices, fault) = run_through(&s, job.clone(), &mut dec);
        eprintln!("{what}: device destroyed before step {at} of {}; fault: {fault:?}", count.calls);
        assert!(fault.is_some(), "{what}: the lost device was noticed");
        assert_eq!(notices.len(), 1);
        assert_eq!(got, want, "{what}: finished on the CPU with the CPU's numbers");
    }
}
