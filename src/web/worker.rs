//! The Web Worker: fetches a built-in model's files, keeps the loaded
//! [`Session`], runs each job synchronously and posts progress, streamed
//! results and the final message. Cancel = the page terminates this worker.

use std::cell::RefCell;

use js_sys::Uint8Array;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent, Response};

use crate::ui::jobs::{self, Session};
use crate::ui::protocol::{FromWorker, ToWorker};

thread_local! {
    static SESSION: RefCell<Option<Session>> = const { RefCell::new(None) };
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn post(msg: &FromWorker) {
    match serde_wasm_bindgen::to_value(msg) {
        Ok(v) => {
            let _ = scope().post_message(&v);
        }
        Err(e) => web_sys::console::error_1(&format!("cannot encode a worker message: {e}").into()),
    }
}

/// Seconds since the worker started (`performance.now()`).
fn clock() -> f64 {
    scope().performance().map_or(0.0, |p| p.now() / 1e3)
}

async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    let resp = JsFuture::from(scope().fetch_with_str(url)).await.map_err(|e| format!("cannot fetch {url}: {e:?}"))?;
    let resp: Response = resp.dyn_into().map_err(|_| format!("{url}: not a response"))?;
    if !resp.ok() {
        return Err(format!("cannot fetch {url}: HTTP {}", resp.status()));
    }
    let buf = JsFuture::from(resp.array_buffer().map_err(|e| format!("{url}: {e:?}"))?).await.map_err(|e| format!("{url}: {e:?}"))?;
    Ok(Uint8Array::new(&buf).to_vec())
}

async fn load(task: String) {
    let t0 = clock();
    if !crate::tasks::builtin_names().contains(&task.as_str()) {
        post(&FromWorker::Failed { message: format!("unknown task {task:?}") });
        return;
    }
    let base = format!("models/{task}/");
    let mut files = Vec::new();
    for f in ["config.json", "model.safetensors", "tokenizer.json"] {
        match fetch_bytes(&format!("{base}{f}")).await {
            Ok(b) => files.push(b),
            Err(e) => {
                post(&FromWorker::Failed { message: e });
                return;
            }
        }
    }
    match jobs::load(&task, &files[0], &files[1], &files[2], 0.0) {
        Ok(mut s) => {
            s.info.load_ms = (clock() - t0) * 1e3;
            post(&FromWorker::Loaded(s.info.clone()));
            SESSION.with(|c| *c.borrow_mut() = Some(s));
        }
        Err(e) => post(&FromWorker::Failed { message: format!("cannot load the {task} model: {e}") }),
    }
}

fn on_message(ev: MessageEvent) {
    let msg: ToWorker = match serde_wasm_bindgen::from_value(ev.data()) {
        Ok(m) => m,
        Err(e) => {
            post(&FromWorker::Failed { message: format!("malformed message to the worker: {e}") });
            return;
        }
    };
    if let ToWorker::Load { task } = msg {
        wasm_bindgen_futures::spawn_local(load(task));
        return;
    }
    let out = SESSION.with(|c| match c.borrow().as_ref() {
        None => FromWorker::Failed { message: "no model is loaded yet".into() },
        Some(s) => jobs::run(s, msg, &mut |m| post(&m), &clock),
    });
    post(&out);
}

pub fn start() {
    console_error_panic_hook::set_once();
    let cb = Closure::<dyn FnMut(MessageEvent)>::new(on_message);
    scope().set_onmessage(Some(cb.as_ref().unchecked_ref()));
    cb.forget();
    post(&FromWorker::Started);
}
