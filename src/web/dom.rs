//! DOM helpers for the page: element lookup, HTML and attribute updates,
//! downloads (text and PNG), clipboard, timing.

use js_sys::{Array, Function, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, BlobPropertyBag, Document, Element, HtmlAnchorElement, HtmlCanvasElement, HtmlElement, HtmlImageElement, Url, Window};

pub fn window() -> Window {
    web_sys::window().expect("the page has a window")
}

pub fn doc() -> Document {
    window().document().expect("the page has a document")
}

pub fn by_id(id: &str) -> Option<Element> {
    doc().get_element_by_id(id)
}

pub fn set_html(id: &str, html: &str) {
    if let Some(e) = by_id(id) {
        e.set_inner_html(html);
    }
}

pub fn set_text(id: &str, text: &str) {
    if let Some(e) = by_id(id) {
        e.set_text_content(Some(text));
    }
}

pub fn set_attr(id: &str, name: &str, value: &str) {
    if let Some(e) = by_id(id) {
        let _ = e.set_attribute(name, value);
    }
}

pub fn set_hidden(id: &str, hidden: bool) {
    if let Some(e) = by_id(id).and_then(|e| e.dyn_into::<HtmlElement>().ok()) {
        e.set_hidden(hidden);
    }
}

pub fn set_disabled(id: &str, disabled: bool) {
    if let Some(e) = by_id(id) {
        let _ = if disabled { e.set_attribute("disabled", "") } else { e.remove_attribute("disabled") };
    }
}

pub fn set_attr_body(name: &str, value: &str) {
    let _ = body().set_attribute(name, value);
}

pub fn body() -> HtmlElement {
    doc().body().expect("the page has a body")
}

/// Milliseconds since navigation start.
pub fn now_ms() -> f64 {
    window().performance().map_or(0.0, |p| p.now())
}

fn blob_url(parts: &JsValue, mime: &str) -> Result<String, JsValue> {
    let opts = BlobPropertyBag::new();
    opts.set_type(mime);
    let blob = Blob::new_with_str_sequence_and_options(parts, &opts)?;
    Url::create_object_url_with_blob(&blob)
}

fn click_download(url: &str, name: &str) -> Result<(), JsValue> {
    let a: HtmlAnchorElement = doc().create_element("a")?.unchecked_into();
    a.set_href(url);
    a.set_download(name);
    body().append_child(&a)?;
    a.click();
    a.remove();
    Ok(())
}

/// Offers `bytes` as a file download.
pub fn download(name: &str, mime: &str, bytes: &[u8]) -> Result<(), JsValue> {
    let parts = Array::of1(&js_sys::Uint8Array::from(bytes));
    let url = blob_url(&parts, mime)?;
    click_download(&url, name)?;
    // Revoke later: the download starts asynchronously.
    let revoke = Closure::once_into_js(move || {
        let _ = Url::revoke_object_url(&url);
    });
    let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(revoke.unchecked_ref(), 10_000);
    Ok(())
}

/// Rasterises an SVG document at 2x and offers it as a PNG download.
pub async fn download_png(name: String, svg: String, width: f64, height: f64) -> Result<(), JsValue> {
    let url = blob_url(&Array::of1(&JsValue::from_str(&svg)), "image/svg+xml")?;
    let img = HtmlImageElement::new()?;
    img.set_src(&url);
    JsFuture::from(img.decode()).await?;
    let canvas: HtmlCanvasElement = doc().create_element("canvas")?.unchecked_into();
    let scale = 2.0;
    canvas.set_width((width * scale) as u32);
    canvas.set_height((height * scale) as u32);
    let ctx: web_sys::CanvasRenderingContext2d = canvas.get_context("2d")?.ok_or("no 2d context")?.unchecked_into();
    ctx.scale(scale, scale)?;
    ctx.draw_image_with_html_image_element_and_dw_and_dh(&img, 0.0, 0.0, width, height)?;
    let _ = Url::revoke_object_url(&url);
    let data = canvas.to_data_url_with_type("image/png")?;
    click_download(&data, &name)
}

/// `navigator.clipboard.writeText(text)`; false where the browser refuses
/// (insecure context, iframe without permission).
pub async fn copy_text(text: &str) -> bool {
    let nav = window().navigator();
    let Ok(clip) = Reflect::get(&nav, &"clipboard".into()) else { return false };
    if clip.is_undefined() {
        return false;
    }
    let Ok(write) = Reflect::get(&clip, &"writeText".into()) else { return false };
    let Some(write) = write.dyn_ref::<Function>() else { return false };
    match write.call1(&clip, &text.into()) {
        Ok(p) => JsFuture::from(Promise::from(p)).await.is_ok(),
        Err(_) => false,
    }
}
