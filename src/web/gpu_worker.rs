//! The worker's GPU path: WebGPU through wgpu, chosen by the `backend`
//! parameter. `auto` uses the GPU only for a real model on a hardware
//! adapter (a built-in model is too small to gain; a fallback adapter such
//! as SwiftShader is slower than the CPU); `webgpu` forces it; `cpu` never.
//! The explorer's and best-of-N's sampling and scoring run on the GPU
//! (awaiting each readback); any GPU failure falls back to the CPU with a
//! notice and the run goes on.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::gpu::decoder::GpuModel;
use crate::gpu::kernels::Kernels;
use crate::gpu::sample::GpuDecode;
use crate::gpu::Gpu;
use crate::reward::{add_verify, judge, verify_items};
use crate::rng::Stream;
use crate::score::{CpuScore, Prescored, Scored};
use crate::sharpen::bon::{bon_plan, bon_report, BonParams};
use crate::sharpen::explore::{explore_prompt, explore_report, explore_scoring, ExploreParams};
use crate::ui::backend as rules;
use crate::ui::jobs::{self, Session};
use crate::ui::protocol::{FromWorker, ToWorker};

type Device = (&'static Gpu, &'static Kernels);

thread_local! {
    /// The device, opened once per worker (leaked: it lives as long as the worker).
    static DEVICE: RefCell<Option<Result<Device, String>>> = const { RefCell::new(None) };
    /// The loaded model's weights on the GPU, by weights hash, when the GPU is in use.
    static MODEL: RefCell<Option<(String, Rc<GpuModel<'static>>)>> = const { RefCell::new(None) };
}

/// Whether the adapter the browser offers is a fallback (software) one, from
/// WebGPU's `adapter.info.isFallbackAdapter` (or SwiftShader's architecture
/// name); None when there is no adapter.
async fn adapter_is_fallback() -> Option<bool> {
    use js_sys::Reflect;
    let nav = Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
    let gpu = Reflect::get(&nav, &"gpu".into()).ok().filter(|g| !g.is_undefined())?;
    let req = Reflect::get(&gpu, &"requestAdapter".into()).ok()?.dyn_into::<js_sys::Function>().ok()?.call0(&gpu).ok()?;
    let adapter = JsFuture::from(js_sys::Promise::from(req)).await.ok().filter(|a| !a.is_null() && !a.is_undefined())?;
    let info = Reflect::get(&adapter, &"info".into()).ok();
    let flag = |o: &wasm_bindgen::JsValue| Reflect::get(o, &"isFallbackAdapter".into()).ok().and_then(|v| v.as_bool());
    let arch = info.as_ref().and_then(|i| Reflect::get(i, &"architecture".into()).ok()).and_then(|a| a.as_string()).unwrap_or_default();
    Some(info.as_ref().and_then(flag).or_else(|| flag(&adapter)).unwrap_or(false) || arch.contains("swiftshader"))
}

async fn device() -> Result<Device, String> {
    if let Some(d) = DEVICE.with(|d| d.borrow().clone()) {
        return d;
    }
    let opened = match Gpu::request().await {
        Ok(g) => {
            let g: &'static Gpu = Box::leak(Box::new(g));
            Kernels::new(g).map(|k| (g, &*Box::leak(Box::new(k)))).map_err(|e| e.to_string())
        }
        Err(e) => Err(e.to_string()),
    };
    DEVICE.with(|d| *d.borrow_mut() = Some(opened.clone()));
    opened
}

fn gpu_model(s: &Session, (g, k): Device) -> Result<Rc<GpuModel<'static>>, String> {
    if let Some((sha, m)) = MODEL.with(|m| m.borrow().clone()) {
        if sha == s.info.sha256 {
            return Ok(m);
        }
    }
    MODEL.with(|m| *m.borrow_mut() = None);
    let cfg = s.model.llama.config();
    let precision = GpuModel::precision_for(g, cfg).ok_or_else(|| format!("its largest weight matrix exceeds {}'s {} MB buffers even as f16", g.info.name, g.info.max_buffer_bytes >> 20))?;
    let m = Rc::new(GpuModel::new(g, k, cfg, &s.model.tensors, precision).map_err(|e| e.to_string())?);
    MODEL.with(|c| *c.borrow_mut() = Some((s.info.sha256.clone(), m.clone())));
    Ok(m)
}

/// "WebGPU", with the weights' storage when it is not f32 (chart stamps).
fn webgpu_label() -> String {
    let f16 = MODEL.with(|m| m.borrow().as_ref().is_some_and(|(_, m)| m.precision() == crate::gpu::Precision::F16));
    if f16 { "WebGPU (f16 weights)".into() } else { "WebGPU".into() }
}

/// Whether the explorer samples on the GPU (for the model with weights hash `sha`).
pub fn active(sha: &str) -> bool {
    MODEL.with(|m| m.borrow().as_ref().is_some_and(|(s, _)| s == sha))
}

fn cpu(text: String) -> FromWorker {
    MODEL.with(|m| *m.borrow_mut() = None);
    FromWorker::Backend { gpu: false, text }
}

/// Chooses the backend for the loaded model and says which runs and why.
pub async fn set_backend(backend: &str, s: Option<Rc<Session>>) -> FromWorker {
    if let Some(why) = rules::before_adapter(backend, s.is_some(), s.as_ref().is_some_and(|s| s.info.real)) {
        return cpu(why);
    }
    let s = s.expect("checked by before_adapter");
    let fallback = adapter_is_fallback().await;
    if let Some(why) = rules::with_adapter(backend, fallback) {
        return cpu(why);
    }
    let fallback = fallback == Some(true);
    let dev = match device().await {
        Ok(d) => d,
        Err(e) => return cpu(format!("CPU — WebGPU failed ({e}); the experiments run on the CPU")),
    };
    match gpu_model(&s, dev) {
        Ok(m) => FromWorker::Backend {
            gpu: true,
            text: format!(
                "WebGPU — {}{}: the explorer and best-of-N sample and score on the GPU; enumeration and training stay on the CPU{}",
                if dev.0.info.name.is_empty() { "adapter" } else { &dev.0.info.name },
                if fallback { " (a fallback, software adapter: forced by backend=webgpu)" } else { "" },
                if m.precision() == crate::gpu::Precision::F16 {
                    format!(" (weights stored as f16: as f32 they exceed this adapter's {} MB buffers; results differ from the CPU's by the rounding)", dev.0.info.max_buffer_bytes >> 20)
                } else {
                    String::new()
                }
            ),
        },
        Err(e) => cpu(format!("CPU — the model does not fit the GPU path ({e})")),
    }
}

/// Scores `pairs` on the GPU into a table for `Prescored`.
async fn score_table(dec: &mut GpuDecode<'_, 'static>, pairs: Vec<(Vec<u32>, Vec<u32>)>) -> crate::error::Result<std::collections::HashMap<(Vec<u32>, Vec<u32>), Vec<f64>>> {
    let items: Vec<Scored> = pairs.iter().map(|(p, c)| Scored { prompt: p, continuation: c }).collect();
    let lps = dec.token_logps_async(&items).await?;
    Ok(pairs.into_iter().zip(lps).collect())
}

/// Best-of-N with every prompt's samples and greedy answer drawn on the
/// GPU and self-verification scored there (`run_bon_with`'s loop, awaiting
/// the GPU); the report is the CPU path's.
async fn bon_on_gpu(s: &Session, m: &GpuModel<'static>, p: &BonParams, post: &dyn Fn(&FromWorker)) -> crate::error::Result<crate::sharpen::BonRun> {
    let (model, task) = (&s.model, s.task.as_ref());
    let plan = bon_plan(model, task, p)?;
    let (eos, unit, total) = (model.tok.eos, jobs::bon_unit(p), plan.problems.len());
    let greedy_settings = plan.greedy_settings(p);
    let (mut judged, mut greedy) = (Vec::with_capacity(total), Vec::with_capacity(total));
    // Decoders (samples, greedy answer, scoring) kept across prompts.
    let mut dec = GpuDecode::new(m);
    for (i, (q, ids)) in plan.problems.iter().zip(&plan.prompt_ids).enumerate() {
        post(&FromWorker::Progress { done: i, total, unit: unit.clone() });
        let samples = dec.sample_async(ids, eos, &p.sampling, p.seed, &Stream::samples(i as u64, plan.n_max)).await?;
        // Judged once; self-verification's items scored on the GPU, then filled in.
        let mut js = judge(model, task, q, &samples, false, &mut CpuScore(&model.llama))?;
        if plan.with_verify {
            let items = verify_items(model, task, q, &js)?;
            let table = score_table(&mut dec, items.1.iter().map(|v| (v.clone(), items.2.clone())).collect()).await?;
            add_verify(&mut js, &items, &mut Prescored { table, fallback: &model.llama, missed: 0 })?;
        }
        judged.push(js);
        let g = dec.sample_async(ids, eos, &greedy_settings, p.seed, &Stream::samples(i as u64, 1)).await?;
        greedy.push(judge(model, task, q, &g, false, &mut CpuScore(&model.llama))?.remove(0));
    }
    post(&FromWorker::Progress { done: total, total, unit });
    bon_report(model, task, p, plan, judged, greedy)
}

/// Best-of-N on the GPU; on a GPU failure it reports the fallback and runs
/// on the CPU.
pub async fn bon(s: Rc<Session>, p: BonParams, post: &dyn Fn(&FromWorker), clock: &dyn Fn() -> f64) -> FromWorker {
    let model = MODEL.with(|m| m.borrow().as_ref().map(|x| x.1.clone()));
    let run = match model {
        Some(m) => bon_on_gpu(&s, &m, &p, post).await,
        None => Err(crate::error::Error::Gpu("no model on the GPU".into())),
    };
    match run {
        Ok(r) => jobs::bon_done(&s, &p, r, &webgpu_label()),
        Err(crate::error::Error::Gpu(e)) => {
            post(&cpu(format!("CPU — the GPU failed during the run ({e}); fell back to the CPU")));
            jobs::run(&s, ToWorker::Bon(p), &mut |m| post(&m), clock)
        }
        Err(e) => FromWorker::Failed { message: e.to_string() },
    }
}

/// The explorer's report with its samples drawn and scored on the GPU: the
/// scoring items are listed first and scored in passes, then the report is
/// built from that table (`Prescored`; a missed item would be scored on the
/// CPU).
async fn sample_and_score(s: &Session, m: &GpuModel<'static>, p: &ExploreParams, q: &crate::tasks::Problem, ids: &[u32]) -> Result<crate::sharpen::explore::ExploreReport, String> {
    let mut dec = GpuDecode::new(m);
    let samples = dec.sample_async(ids, s.model.tok.eos, &p.sampling, p.seed, &Stream::samples(0, p.n)).await.map_err(|e| e.to_string())?;
    let pairs = explore_scoring(&s.model, s.task.as_ref(), q, ids, &samples).map_err(|e| e.to_string())?;
    let table = score_table(&mut dec, pairs).await.map_err(|e| e.to_string())?;
    let mut scorer = Prescored { table, fallback: &s.model.llama, missed: 0 };
    explore_report(&s.model, s.task.as_ref(), p, q, ids, samples, &mut scorer).map_err(|e| e.to_string())
}

/// The explorer with its samples drawn on the GPU; on a GPU failure it
/// reports the fallback and runs on the CPU.
pub async fn explore(s: Rc<Session>, p: ExploreParams, post: &dyn Fn(&FromWorker), clock: &dyn Fn() -> f64) -> FromWorker {
    let p = jobs::explore_params(&s, p);
    let (q, ids) = match explore_prompt(&s.model, s.task.as_ref(), &p) {
        Ok(x) => x,
        Err(e) => return FromWorker::Failed { message: e.to_string() },
    };
    let model = MODEL.with(|m| m.borrow().as_ref().map(|x| x.1.clone()));
    let report = match model {
        Some(m) => sample_and_score(&s, &m, &p, &q, &ids).await,
        None => Err("no model on the GPU".into()),
    };
    match report {
        Ok(r) => jobs::explore_done(&s, &p, r, &webgpu_label()),
        Err(e) => {
            post(&cpu(format!("CPU — the GPU failed during the run ({e}); fell back to the CPU")));
            jobs::run(&s, ToWorker::Explore(p), &mut |m| post(&m), clock)
        }
    }
}
