//! What a model download must be before the page uses or keeps it: the
//! server's answer said in words (an error status, a web page instead of a
//! file), and the bytes checked whole (a GGUF file's tensors, a safetensors
//! file's tensors and a JSON file all inside what arrived) before the Cache
//! API stores them, so a download that broke off or sent something else is
//! never kept as if it were the model. Pure, so the tests run it natively;
//! `web::worker` calls it on every response and every finished download.

use std::io::Cursor;

/// Name of the Cache API store the page's worker keeps downloaded models in
/// (the service worker leaves it alone; "Forget downloaded models" deletes it).
pub const MODEL_CACHE: &str = "sharpening-lab-models-v1";

/// Where a downloaded model came from, as the model line says it: a plain
/// "download", or one the browser refused to keep (`refused`: its reason,
/// e.g. the storage quota is full), so the user knows the next load
/// downloads it again.
pub fn origin_of_download(refused: Option<&str>) -> String {
    match refused {
        None => "download, kept in this browser".into(),
        Some(why) => format!("download, not kept in this browser ({}): the next load downloads it again", why.trim()),
    }
}

use candle_core::quantized::gguf_file::Content;

/// Why the server's answer to `url` (HTTP `status`, `Content-Type`) is not
/// a model file, with what to do; None when it may be one.
pub fn bad_response(url: &str, status: u16, content_type: Option<&str>) -> Option<String> {
    let why = match status {
        200..=299 => None,
        401 | 403 => Some("the server refuses to give it (HTTP {status}): the file may be private; use a public address or download it and choose the file"),
        404 | 410 => Some("the server has no file there (HTTP {status}): check the address, which must end in the file's name (e.g. .../model.gguf)"),
        429 => Some("the server asks to wait (HTTP 429, too many requests): try again in a minute"),
        500..=599 => Some("the server failed (HTTP {status}): try again later, or download the file and choose it"),
        _ => Some("the server answered HTTP {status}, not the file: check the address"),
    };
    if let Some(why) = why {
        return Some(format!("cannot download {url}: {}", why.replace("{status}", &status.to_string())));
    }
    let html = content_type.is_some_and(|t| t.trim_start().to_ascii_lowercase().starts_with("text/html"));
    // A JSON file may come as text/html from a badly set server: it is checked by parsing instead.
    html.then(|| format!("cannot load {url}: the server sent a web page (text/html), not a model file; the address must be the file itself (on Hugging Face: .../resolve/main/FILE, not .../blob/main/FILE)"))
        .filter(|_| !url.ends_with(".json"))
}

/// Checks that `bytes` downloaded from `url` are a whole file of the kind
/// its name says: `*.json` parses; `*.safetensors` has every tensor inside
/// the bytes; anything else is a GGUF file whose header reads and whose
/// tensors all end inside the bytes. `declared`: the `Content-Length`, when
/// the server sent one (fewer bytes arrived: the download broke off).
pub fn check_download(url: &str, bytes: &[u8], declared: Option<u64>) -> Result<(), String> {
    let broke = |why: String| Err(format!("the download of {url} is not a whole model file ({why}); nothing was kept: try again, or check the address"));
    if let Some(n) = declared.filter(|&n| (bytes.len() as u64) < n) {
        return broke(format!("{} of {n} bytes arrived: the server closed the connection early", bytes.len()));
    }
    if url.ends_with(".json") {
        return serde_json::from_slice::<serde_json::Value>(bytes).map(|_| ()).map_err(|e| format!("{url} is not JSON: {e}"));
    }
    if url.ends_with(".safetensors") {
        return safetensors::SafeTensors::deserialize(bytes).map(|_| ()).or_else(|e| broke(format!("not a readable safetensors file: {e}")));
    }
    let content = match Content::read(&mut Cursor::new(bytes)) {
        Ok(c) => c,
        Err(e) => return broke(format!("not a readable GGUF file: {e}")),
    };
    match crate::model::gguf::tensor_past_end(&content, bytes.len()) {
        Some((name, e)) => broke(format!("its tensor {name} ends at byte {e} but only {} bytes arrived", bytes.len())),
        None => Ok(()),
    }
}
