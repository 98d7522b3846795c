//! The Web Worker's entry point: runs the model off the main thread. Built for
//! wasm32 by Trunk (`data-type="worker"`). Natively it only says how to build it.

#[cfg(target_arch = "wasm32")]
fn main() {
    sharpening_lab::web::worker::start();
}

/// The worker's heap counted (`memory::Counting`), for the soak test.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOC: sharpening_lab::memory::Counting = sharpening_lab::memory::Counting;

/// `wasm_bindgen.memory_stats()` in the worker: its heap in use, the most it
/// used and its linear memory (`memory::MemoryStats`), as the soak test reads them.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn memory_stats() -> wasm_bindgen::JsValue {
    serde_wasm_bindgen::to_value(&sharpening_lab::memory::stats()).unwrap_or(wasm_bindgen::JsValue::NULL)
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("`worker` is the page's Web Worker; build it with `trunk build --release` (see README.md)");
    std::process::exit(2);
}
