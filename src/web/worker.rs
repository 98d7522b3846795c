//! The Web Worker: fetches a built-in model's files (or a real GGUF model from
//! a URL, with progress and the Cache API, or from picked files), keeps the
//! loaded [`Session`], hands each job to `gpu_worker::run` (the backend
//! choice) and posts progress, streamed results and the final message.
//! Cancel = the page terminates this worker.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Uint8Array;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent, Response};

use crate::app::download::MODEL_CACHE;
use crate::app::protocol::{Command, FromWorker, RealExtras, ToWorker};
use crate::app::session::{self, Session};

thread_local! {
    static SESSION: RefCell<Option<Rc<Session>>> = const { RefCell::new(None) };
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

/// A GET of `url` that sends no Referer (a model's server learns nothing of the page).
fn get(url: &str) -> JsFuture {
    let init = web_sys::RequestInit::new();
    init.set_referrer_policy(web_sys::ReferrerPolicy::NoReferrer);
    JsFuture::from(scope().fetch_with_str_and_init(url, &init))
}

fn post(msg: &FromWorker) {
    match serde_wasm_bindgen::to_value(msg) {
        Ok(v) => drop(scope().post_message(&v)),
        Err(e) => web_sys::console::error_1(&format!("cannot encode a worker message: {e}").into()),
    }
}

/// Seconds since the worker started (`performance.now()`).
fn clock() -> f64 {
    scope().performance().map_or(0.0, |p| p.now() / 1e3)
}

/// The whole body of a response.
async fn body(resp: &Response, url: &str) -> Result<Vec<u8>, String> {
    let buf = JsFuture::from(resp.array_buffer().map_err(|e| format!("{url}: {}", js_text(&e)))?).await.map_err(|e| format!("{url}: {}", js_text(&e)))?;
    Ok(Uint8Array::new(&buf).to_vec())
}

async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    let resp = get(url).await.map_err(|e| format!("cannot fetch {url}: {}", js_text(&e)))?;
    let resp: Response = resp.dyn_into().map_err(|_| format!("{url}: not a response"))?;
    if !resp.ok() {
        return Err(format!("cannot fetch {url}: HTTP {}", resp.status()));
    }
    body(&resp, url).await
}

async fn load(task: String) {
    let t0 = clock();
    if let Some(message) = session::builtin_refusal(&task) {
        return post(&FromWorker::Failed { message });
    }
    let mut files = Vec::new();
    for f in ["config.json", "model.safetensors", "tokenizer.json"] {
        match fetch_bytes(&format!("models/{task}/{f}")).await {
            Ok(b) => files.push(b),
            Err(message) => return post(&FromWorker::Failed { message }),
        }
    }
    let out = session::load(&task, &files[0], &files[1], &files[2], 0.0).map_err(|e| format!("cannot load the {task} model: {e}"));
    finish(out, t0);
}

async fn model_cache() -> Option<web_sys::Cache> {
    JsFuture::from(scope().caches().ok()?.open(MODEL_CACHE)).await.ok()?.dyn_into().ok()
}

/// Forgets every downloaded model file the Cache API keeps (the page's
/// "Forget downloaded models").
async fn forget_models() -> FromWorker {
    let files = match model_cache().await {
        Some(c) => JsFuture::from(c.keys()).await.map_or(0, |k| js_sys::Array::from(&k).length() as usize),
        None => return FromWorker::Failed { message: "this browser keeps no downloaded models for this page (no Cache API here)".into() },
    };
    let deleted = if let Ok(c) = scope().caches() { JsFuture::from(c.delete(MODEL_CACHE)).await.is_ok() } else { false };
    match deleted {
        true => FromWorker::ModelsForgotten { files },
        false => FromWorker::Failed { message: "the browser refused to forget the downloaded models".into() },
    }
}

fn progress(done: usize, total: usize, unit: &str) {
    post(&FromWorker::Progress { done, total, unit: unit.into() });
}

/// The model at `url`: from the Cache API when it is there, otherwise
/// downloaded chunk by chunk with progress (size checked before the body is
/// read) and stored in the cache. Returns the bytes and where they came from.
async fn fetch_model(url: &str) -> Result<(Vec<u8>, String), String> {
    let cache = model_cache().await;
    if let Some(c) = &cache {
        if let Ok(resp) = JsFuture::from(c.match_with_str(url)).await.and_then(|hit| hit.dyn_into::<Response>().map_err(JsValue::from)) {
            return Ok((body(&resp, url).await?, "browser cache".into()));
        }
    }
    let resp = get(url).await.map_err(|e| format!("cannot download {url}: {} (is the address right, and does its server allow this page to read it (CORS)?)", js_text(&e)))?;
    let resp: Response = resp.dyn_into().map_err(|_| format!("{url}: not a response"))?;
    if let Some(msg) = crate::app::download::bad_response(url, resp.status(), resp.headers().get("content-type").ok().flatten().as_deref()) {
        return Err(msg);
    }
    // As f64: a size over 4 GB does not fit wasm32's usize.
    let size: f64 = resp.headers().get("content-length").ok().flatten().and_then(|v| v.parse().ok()).unwrap_or(0.0);
    if let Some(msg) = session::too_large_for_page(url, size) {
        return Err(msg);
    }
    let total = size as usize;
    let stream = resp.body().ok_or_else(|| format!("{url}: empty response"))?;
    let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let mut bytes = Vec::with_capacity(total);
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(|e| format!("the download of {url} broke off ({}); nothing was kept: try again", js_text(&e)))?;
        let done = js_sys::Reflect::get(&chunk, &"done".into()).ok().and_then(|v| v.as_bool()).unwrap_or(true);
        if done {
            break;
        }
        let value: Uint8Array = js_sys::Reflect::get(&chunk, &"value".into()).map_err(|e| js_text(&e))?.unchecked_into();
        let before = bytes.len() >> 20;
        bytes.extend_from_slice(&value.to_vec());
        if let Some(msg) = session::too_large_for_page(url, bytes.len() as f64) {
            let _ = reader.cancel();
            return Err(msg);
        }
        // One message per MB, not per chunk (chunks are ~64 KB).
        if bytes.len() >> 20 != before {
            progress(bytes.len() >> 20, total >> 20, "MB downloaded");
        }
    }
    // Kept in the cache only when whole: a download that broke off or sent something else is never taken for the model.
    crate::app::download::check_download(url, &bytes, (size > 0.0).then_some(size as u64))?;

    // A full storage (quota) or a private window costs only the next download, and the page says so.
    let refused = match (&cache, Response::new_with_opt_buffer_source(Some(&Uint8Array::from(bytes.as_slice())))) {
        (Some(c), Ok(r)) => JsFuture::from(c.put_with_str(url, &r)).await.err().map(|e| js_text(&e)),
        (None, _) => Some("no Cache API here".into()),
        (_, Err(e)) => Some(js_text(&e)),
    };
    Ok((bytes, crate::app::download::origin_of_download(refused.as_deref())))
}

fn js_text(v: &JsValue) -> String {
    v.as_string().or_else(|| js_sys::Reflect::get(v, &"message".into()).ok().and_then(|m| m.as_string())).unwrap_or_else(|| format!("{v:?}"))
}

/// The task a real model will run, checked before any download.
fn real_task(task: &str, extras: &RealExtras) -> Option<(Box<dyn crate::tasks::Task>, String)> {
    session::real_task(task, extras.prompts.as_ref()).map_err(|e| post(&FromWorker::Failed { message: e.to_string() })).ok()
}

/// A GGUF file at `url`, or a Hugging Face model folder (`url` ending in
/// `/`: its config.json, model.safetensors, tokenizer.json and, if there,
/// tokenizer_config.json).
async fn load_url(url: String, task: String, extras: RealExtras) {
    let t0 = clock();
    let Some(task) = real_task(&task, &extras) else { return };
    let (mut named, mut origins) = (Vec::new(), Vec::new());
    if url.ends_with('/') {
        for f in session::HfFiles::NAMES {
            match fetch_model(&format!("{url}{f}")).await {
                Ok((b, from)) => {
                    named.push((f.to_string(), b));
                    origins.push(from);
                }
                Err(_) if f == "tokenizer_config.json" => {}
                Err(message) => return post(&FromWorker::Failed { message }),
            }
        }
    } else {
        match fetch_model(&url).await {
            Ok((b, from)) => (named, origins) = (vec![(url.clone(), b)], vec![from]),
            Err(message) => return post(&FromWorker::Failed { message }),
        }
    }
    progress(0, 0, "converting the weights");
    origins.dedup();
    finish(session::load_named(&url, named, task, &origins.join("; "), extras.adapter.as_ref()).map_err(|e| format!("cannot load {url}: {e}")), t0);
}

/// Model files from the picker: one GGUF file, or a Hugging Face model's
/// files (by name).
async fn load_files(files: Vec<web_sys::File>, task: String, extras: RealExtras) {
    let t0 = clock();
    let Some(task) = real_task(&task, &extras) else { return };
    let name = if files.len() == 1 { files[0].name() } else { "the chosen Hugging Face files".to_string() };
    if let Some(message) = session::too_large_for_page(&name, files.iter().map(|f| f.size()).sum()) {
        return post(&FromWorker::Failed { message });
    }
    progress(0, 0, "reading the files");
    let mut named = Vec::new();
    for f in &files {
        match JsFuture::from(f.array_buffer()).await {
            Ok(buf) => named.push((f.name(), Uint8Array::new(&buf).to_vec())),
            Err(e) => return post(&FromWorker::Failed { message: format!("cannot read {}: {}", f.name(), js_text(&e)) }),
        }
    }
    progress(0, 0, "converting the weights");
    let origin = if named.len() == 1 { "file" } else { "files" };
    finish(session::load_named(&name, named, task, origin, extras.adapter.as_ref()).map_err(|e| format!("cannot load {name}: {e}")), t0);
}

fn finish(out: Result<Session, String>, t0: f64) {
    match out {
        Ok(mut s) => {
            s.info.load_ms = (clock() - t0) * 1e3;
            post(&FromWorker::Loaded(s.info.clone()));
            SESSION.with(|c| *c.borrow_mut() = Some(Rc::new(s)));
        }
        Err(message) => post(&FromWorker::Failed { message }),
    }
}

/// A message from the page: `{message}` (a typed `ToWorker`), with
/// `files` beside a `LoadFiles` command.
fn on_message(ev: MessageEvent) {
    let field = |name: &str| js_sys::Reflect::get(&ev.data(), &name.into()).unwrap_or(JsValue::UNDEFINED);
    let msg: ToWorker = match serde_wasm_bindgen::from_value(field("message")) {
        Ok(m) => m,
        Err(e) => return post(&FromWorker::Failed { message: format!("malformed message to the worker: {e}") }),
    };
    let session = SESSION.with(|c| c.borrow().clone());
    let job = match msg {
        ToWorker::Command(Command::Load { task }) => return wasm_bindgen_futures::spawn_local(load(task)),
        ToWorker::Command(Command::LoadUrl { url, task, extras }) => return wasm_bindgen_futures::spawn_local(load_url(url, task, extras)),
        ToWorker::Command(Command::LoadFiles { task, extras }) => {
            // The picked files ride beside the typed message (a `File` cannot pass through serde).
            let list = field("files").dyn_into::<js_sys::Array>().ok();
            let files: Vec<web_sys::File> = list.map(|l| l.iter().filter_map(|f| f.dyn_into().ok()).collect()).unwrap_or_default();
            return wasm_bindgen_futures::spawn_local(load_files(files, task, extras));
        }
        ToWorker::Command(Command::ForgetModels) => return wasm_bindgen_futures::spawn_local(async { post(&forget_models().await) }),
        ToWorker::Command(Command::SetBackend { backend }) => {
            return wasm_bindgen_futures::spawn_local(async move { post(&super::gpu_worker::set_backend(backend, session).await) });
        }
        ToWorker::Job(job) => job,
    };
    let Some(s) = session else { return post(&FromWorker::Failed { message: "no model is loaded yet".into() }) };
    wasm_bindgen_futures::spawn_local(async move { post(&super::gpu_worker::run(s, job, &mut |m| post(&m), &clock).await) });
}

pub fn start() {
    console_error_panic_hook::set_once();
    let cb = Closure::<dyn FnMut(MessageEvent)>::new(on_message);
    scope().set_onmessage(Some(cb.as_ref().unchecked_ref()));
    cb.forget();
    post(&FromWorker::Started);
}
