// Starts the page: the wasm-bindgen glue Trunk built for the `app` binary,
// then its WebAssembly. A file of its own, not the inline script Trunk would
// write, so that the Content-Security-Policy in index.html can forbid inline
// scripts (script-src 'self' 'wasm-unsafe-eval').
import init from "./app.js";
await init({ module_or_path: new URL("app_bg.wasm", import.meta.url) });
