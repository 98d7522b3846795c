//! The page's entry point (main thread), built for wasm32 by Trunk from
//! `www/index.html`. Natively it only says how to build the page.

#[cfg(target_arch = "wasm32")]
fn main() {
    sharpening_lab::web::page::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("`app` is the web page; build it with `trunk build --release` (see README.md)");
    std::process::exit(2);
}
