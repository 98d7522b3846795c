//! The Web Worker's entry point: runs the model off the main thread. Built for
//! wasm32 by Trunk (`data-type="worker"`). Natively it only says how to build it.

#[cfg(target_arch = "wasm32")]
fn main() {
    sharpening_lab::web::worker::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("`worker` is the page's Web Worker; build it with `trunk build --release` (see README.md)");
    std::process::exit(2);
}
