//! What the worker does with each job, as plain Rust: run one experiment
//! with progress, stream intermediate results, build the exports. One file
//! per experiment; sampling and scoring go through the decoding seam
//! (`decode::Decode`), so the same job runs on the CPU and on WebGPU. Tested
//! natively, including that each JSON export equals the CLI's.

use super::protocol::{FromWorker, Job, Speed};
use super::session::Session;
use crate::decode::{block_on, on_cpu, Decode};
use crate::error::{Error, Result};
use crate::tasks;

mod bon;
mod complexity;
pub mod coverage;
mod efficiency;
mod explore;
mod finish;
mod lora;
mod margin;
mod rlhf;
mod sft;
mod theory;
mod watched;

pub use finish::failed;

/// Runs one job, sampling and scoring through `dec` (the experiments that
/// train or enumerate stay on the CPU); `post` streams progress and
/// intermediate results, the value is the final message. An error is
/// returned as such, so the caller can tell a GPU fault (`Error::Gpu`: run
/// it again on the CPU) from a failure to report.
pub async fn run(s: &Session, job: Job, post: &mut dyn FnMut(FromWorker), clock: &dyn Fn() -> f64, dec: &mut dyn Decode) -> Result<FromWorker> {
    // Refuse at once what needs exact distributions on free-text answers
    // (before any per-prompt work such as choosing a watched prompt).
    if let Some(what) = job.experiment().and_then(|e| e.needs_exact()) {
        tasks::require_enumerable(s.task.as_ref(), what)?;
    }
    match job {
        Job::Explore(p) => explore::run(s, p, dec).await,
        Job::Bon(p) => bon::run(s, p, post, dec).await,
        Job::Sft { params, .. } if !s.task.enumerable() => lora::run(s, &params, post, clock),
        Job::Sft { params, watch } => sft::run(s, params, &watch, post),
        Job::Rlhf { params, watch } => rlhf::run(s, params, &watch, post),
        Job::Theory(p) => theory::run(s, p),
        Job::Efficiency(p) => efficiency::run(s, p, post),
        Job::Complexity(p) => complexity::run(s, p, post),
        Job::Margin(p) => margin::run(s, p, post),
        Job::Coverage(p) => coverage::run(p, post),
        Job::CoverageLm(p) => coverage::run_lm(s, p, post),
        Job::Bench => bench(s, clock),
    }
}

/// [`run`] through a GPU decoder, with the CPU as the net: a GPU fault at
/// any point of the run (a lost device, a validation error, a kernel that
/// did not compile: `Error::Gpu`) is said to the page (`FromWorker::Backend`,
/// CPU, with the reason) and the job runs again from its start on the CPU,
/// so its numbers are exactly a CPU run's (every draw has its own stream,
/// nothing of the broken run is kept). Returns the final message and the
/// fault, if there was one (the caller then forgets the device).
pub async fn run_or_fall_back(s: &Session, job: Job, post: &mut dyn FnMut(FromWorker), clock: &dyn Fn() -> f64, gpu: &mut dyn Decode) -> (FromWorker, Option<String>) {
    match run(s, job.clone(), post, clock, gpu).await {
        Ok(done) => (done, None),
        Err(Error::Gpu(fault)) => {
            post(FromWorker::Backend { gpu: false, text: format!("CPU — the GPU failed during the run ({fault}); the run was finished on the CPU") });
            let done = run(s, job, post, clock, &mut *on_cpu(&s.model.llama)).await.unwrap_or_else(|e| failed(&e));
            (done, Some(fault))
        }
        Err(e) => (failed(&e), None),
    }
}

/// [`run`] on the CPU, blocking; a failure becomes `FromWorker::Failed`
/// (native callers and tests).
pub fn run_on_cpu(s: &Session, job: Job, post: &mut dyn FnMut(FromWorker), clock: &dyn Fn() -> f64) -> FromWorker {
    block_on(run(s, job, post, clock, &mut *on_cpu(&s.model.llama))).unwrap_or_else(|e| failed(&e))
}

/// Sampling speed of a built-in model (N = 64), or a real model's decoding
/// speed on the task's first prompt (32 new tokens at batch 1 and 16) and
/// its LoRA step (batch 4, 16 answer tokens), plain and fast.
fn bench(s: &Session, clock: &dyn Fn() -> f64) -> Result<FromWorker> {
    if !s.info.real {
        let r = crate::throughput::sampling_speed(&s.model, s.task.as_ref(), 64, 2.0, clock)?;
        return Ok(FromWorker::Speed(Speed::Sampling { tokens_per_s: r.tokens_per_s, tokens: r.tokens, seconds: r.seconds_per_round }));
    }
    let prompt = s.model.tok.encode_prompt(&s.task.problem(0).prompt)?;
    let (mut rows, mut prefill_ms) = (Vec::new(), 0.0);
    for n in [1usize, 16] {
        let r = crate::throughput::decode_speed(&s.model, &prompt, n, 32, 1.0, clock)?;
        rows.push((n, r.tokens_per_s));
        prefill_ms = r.prefill_s * 1e3;
    }
    let p = crate::sharpen::lora_sft::LoraParams::default();
    let lora = crate::sharpen::lora_sft::speed::measure(&s.model, s.task.as_ref(), &p, 16, 1, false, clock)?;
    Ok(FromWorker::Speed(Speed::Decoding { rows, new_tokens: 32, prefill_ms, lora: Some(lora) }))
}
