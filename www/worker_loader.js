// Starts the lab's Web Worker: loads the wasm-bindgen glue Trunk built for the
// `worker` binary, then its WebAssembly (paths relative to this file, so the lab
// works from any sub-path).
importScripts("./worker.js");
wasm_bindgen("./worker_bg.wasm");
