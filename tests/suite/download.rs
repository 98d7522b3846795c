//! What a model download must be before the page uses or keeps it
//! (`app::download`): each kind of bad answer said in words, and the bytes
//! checked whole — a file cut anywhere, or other bytes, is refused — while
//! the real files pass. The browser test `tests/e2e/security.test.mjs` serves
//! each case on purpose.

use crate::common;

use sharpening_lab::app::download::{bad_response, check_download};

#[test]
fn a_bad_answer_says_what_went_wrong_and_what_to_do() {
    let url = "https://example.org/m.gguf";
    assert_eq!(bad_response(url, 200, Some("application/octet-stream")), None);
    assert_eq!(bad_response(url, 206, None), None);
    for (status, words) in [(404, "no file there"), (410, "no file there"), (403, "refuses"), (401, "refuses"), (429, "try again in a minute"), (500, "try again later"), (503, "try again later"), (302, "HTTP 302")] {
        let m = bad_response(url, status, None).unwrap_or_else(|| panic!("HTTP {status} passed"));
        assert!(m.contains(url) && m.contains(words) && m.contains(&status.to_string()), "{status}: {m}");
    }
    let page = bad_response(url, 200, Some("Text/HTML; charset=utf-8")).unwrap();
    assert!(page.contains("web page") && page.contains("resolve/main"), "{page}");
    // A JSON file from a server that labels everything text/html is judged by parsing.
    assert_eq!(bad_response("https://example.org/config.json", 200, Some("text/html")), None);
}

#[test]
fn a_safetensors_or_json_download_is_kept_only_whole() {
    let f = sharpening_lab::builtin::files("add").unwrap();
    let url = "https://example.org/model.safetensors";
    check_download(url, f.weights, Some(f.weights.len() as u64)).unwrap();
    check_download(url, f.weights, None).unwrap();
    for cut in [0, 7, 100, f.weights.len() / 2, f.weights.len() - 1] {
        let e = check_download(url, &f.weights[..cut], None).unwrap_err();
        assert!(e.contains("not a whole model file") && e.contains("nothing was kept"), "cut at {cut}: {e}");
    }
    let e = check_download(url, &f.weights[..100], Some(f.weights.len() as u64)).unwrap_err();
    assert!(e.contains(&format!("100 of {} bytes arrived", f.weights.len())), "{e}");
    check_download("https://example.org/config.json", f.config, None).unwrap();
    assert!(check_download("https://example.org/config.json", &f.config[..f.config.len() / 2], None).unwrap_err().contains("not JSON"));
    assert!(check_download("https://example.org/config.json", b"<!DOCTYPE html><html>", None).is_err());
}

#[test]
fn a_gguf_download_is_kept_only_whole() {
    let Some(path) = common::smollm2_path() else { return };
    let bytes = std::fs::read(&path).unwrap();
    let url = "https://example.org/SmolLM2.gguf";
    check_download(url, &bytes, Some(bytes.len() as u64)).unwrap();
    // Cut in the header, in the tensor table, in the tensor data, one byte short.
    for cut in [3, 200, 1 << 20, bytes.len() / 2, bytes.len() - 1] {
        let e = check_download(url, &bytes[..cut], None).unwrap_err();
        assert!(e.contains("not a whole model file"), "cut at {cut}: {e}");
    }
    assert!(check_download(url, &bytes[..bytes.len() - 1], None).unwrap_err().contains("ends at byte"));
    // A web page, or noise, in place of the file.
    for other in [b"<!DOCTYPE html><html><body>Not found</body></html>".to_vec(), (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8).collect()] {
        assert!(check_download(url, &other, None).unwrap_err().contains("not a readable GGUF file"));
    }
}
