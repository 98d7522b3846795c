//! The worker's backend choice: WebGPU through wgpu, chosen by the
//! `backend` parameter under the rule `app::backend::Backend` states (the
//! CLI's too). When the GPU is chosen, the loaded model's weights are
//! uploaded once and jobs get a `GpuDecode` (the explorer's and best-of-N's
//! sampling and scoring then run on the GPU through the one decoding seam,
//! awaiting each readback); any GPU failure falls back to the CPU with a
//! notice and the run goes on.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::app::backend::Backend;
use crate::app::jobs;
use crate::app::protocol::{FromWorker, Job};
use crate::app::session::Session;
use crate::decode::on_cpu;
use crate::gpu::decoder::GpuModel;
use crate::gpu::kernels::Kernels;
use crate::gpu::sample::GpuDecode;
use crate::gpu::Gpu;

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

fn cpu(text: String) -> FromWorker {
    MODEL.with(|m| *m.borrow_mut() = None);
    FromWorker::Backend { gpu: false, text }
}

/// Chooses the backend for the loaded model and says which runs and why.
pub async fn set_backend(backend: Backend, s: Option<Rc<Session>>) -> FromWorker {
    if let Some(why) = backend.before_adapter(s.is_some(), s.as_ref().is_some_and(|s| s.info.real)) {
        return cpu(why);
    }
    let s = s.expect("checked by before_adapter");
    let fallback = adapter_is_fallback().await;
    if let Some(why) = backend.with_adapter(fallback) {
        return cpu(why);
    }
    let fallback = fallback == Some(true);
    let dev = match device().await {
        Ok(d) => d,
        Err(e) => return cpu(format!("CPU — WebGPU failed ({e}); the experiments run on the CPU")),
    };
    match gpu_model(&s, dev) {
        Ok(m) => FromWorker::Backend { gpu: true, text: Backend::gpu_text(&dev.0.info, fallback, m.precision()) },
        Err(e) => cpu(format!("CPU — the model does not fit the GPU path ({e})")),
    }
}

/// Runs a job on the chosen backend: the GPU when it holds this session's
/// model (the jobs that sample and score use it; training and enumeration
/// stay on the CPU), else the CPU. A GPU fault mid-run finishes the job on
/// the CPU with a notice (`jobs::run_or_fall_back`); the device is then
/// forgotten, so choosing the GPU again opens a new one.
pub async fn run(s: Rc<Session>, job: Job, post: &mut dyn FnMut(FromWorker), clock: &dyn Fn() -> f64) -> FromWorker {
    let model = MODEL.with(|m| m.borrow().as_ref().filter(|(sha, _)| *sha == s.info.sha256).map(|x| x.1.clone()));
    let Some(m) = model else {
        return jobs::run(&s, job, post, clock, &mut *on_cpu(&s.model.llama)).await.unwrap_or_else(|e| jobs::failed(&e));
    };
    let (done, fault) = jobs::run_or_fall_back(&s, job, post, clock, &mut GpuDecode::new(&m)).await;
    if fault.is_some() {
        MODEL.with(|m| *m.borrow_mut() = None);
        DEVICE.with(|d| *d.borrow_mut() = None);
    }
    done
}
