//! The locked-down page, checked on the source (the browser test
//! `tests/e2e/security.test.mjs` checks it in force): each HTML file in
//! `www/` carries a Content-Security-Policy that allows no inline script and
//! no eval, and neither those files nor any HTML the page's Rust code writes
//! (`src/ui`, `src/web`) holds an inline script or an event-handler
//! attribute, which that policy would refuse.

use std::path::Path;

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap()
}

/// The `content` of the page's CSP meta tag.
fn csp(html: &str) -> Option<String> {
    let at = html.find("http-equiv=\"Content-Security-Policy\"")?;
    let rest = &html[at..];
    let start = rest.find("content=\"")? + "content=\"".len();
    Some(rest[start..start + rest[start..].find('"')?].to_string())
}

/// `on…=` attributes (onclick=, onerror=, …) in `text`: the words after
/// whitespace that start with "on", are letters and end in '='.
fn handlers(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices(" on") {
        let word: String = text[i + 1..].chars().take_while(|c| c.is_ascii_lowercase()).collect();
        if word.len() > 2 && text[i + 1 + word.len()..].starts_with('=') {
            out.push(word);
        }
    }
    out
}

fn inline_scripts(html: &str) -> usize {
    html.match_indices("<script").filter(|(i, _)| !html[*i..].split('>').next().unwrap_or("").contains(" src=")).count()
}

#[test]
fn every_page_forbids_inline_scripts_and_has_none() {
    for page in ["www/index.html", "www/teachers.html"] {
        let html = read(page);
        let policy = csp(&html).unwrap_or_else(|| panic!("{page} has no Content-Security-Policy meta tag"));
        let directive = |name: &str| policy.split(';').map(str::trim).find(|d| d.starts_with(&format!("{name} "))).map(str::to_string);
        assert!(policy.contains("default-src 'none'"), "{page}: {policy}");
        let scripts = directive("script-src").unwrap_or_default();
        for bad in ["'unsafe-inline'", "'unsafe-eval'", "*", "data:", "blob:", "http:", "https:"] {
            assert!(!scripts.split_whitespace().any(|w| w == bad), "{page}: script-src allows {bad}: {policy}");
        }
        assert_eq!(inline_scripts(&html), 0, "{page} has an inline <script>");
        assert_eq!(handlers(&html), Vec::<String>::new(), "{page} has event-handler attributes");
        assert!(html.contains("<meta name=\"referrer\" content=\"no-referrer\">"), "{page} sends a Referer");
    }
    let index = csp(&read("www/index.html")).unwrap();
    assert!(index.contains("script-src 'self' 'wasm-unsafe-eval'"), "the page's own scripts and WebAssembly: {index}");
}

#[test]
fn the_html_the_page_writes_has_no_inline_script_or_handler() {
    fn walk(dir: &Path, out: &mut Vec<(String, String)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push((p.display().to_string(), std::fs::read_to_string(&p).unwrap()));
            }
        }
    }
    let mut files = Vec::new();
    for d in ["src/ui", "src/web"] {
        walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join(d), &mut files);
    }
    assert!(files.len() > 20);
    for (name, src) in files {
        assert_eq!(handlers(&src), Vec::<String>::new(), "{name} writes event-handler attributes");
        assert!(!src.contains("<script"), "{name} writes a <script>");
    }
    // The checks can fail.
    assert_eq!(handlers("<img src=x onerror=\"a()\"> <b onclick=x>"), ["onerror", "onclick"]);
    assert_eq!(inline_scripts("<script src=\"a.js\"></script><script>x()</script>"), 1);
}
