//! The shape ARCHITECTURE.md promises, checked on the source: no file over
//! 400 lines, the browser layer (`src/web/`) under 1,000 lines, and no
//! import cycle between modules (a submodule may use its own ancestors:
//! it is part of them; any other cycle fails, naming its modules).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every library module (`a::b`) and its source, `src/bin` left out.
fn modules() -> BTreeMap<String, String> {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&root, &mut files);
    let mut out = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(&root).unwrap().with_extension("");
        let mut parts: Vec<String> = rel.iter().map(|s| s.to_string_lossy().into_owned()).collect();
        if parts[0] == "bin" {
            continue;
        }
        if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
            parts.pop();
        }
        out.insert(parts.join("::"), std::fs::read_to_string(&f).unwrap());
    }
    out
}

/// The code without comments (doc comments name modules in prose).
fn code(src: &str) -> String {
    src.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

/// The modules `m` refers to: paths from `crate::`, `super::`, `self::`
/// (with `{...}` groups) and its own submodules by name.
fn uses(m: &str, src: &str, mods: &BTreeSet<String>) -> BTreeSet<String> {
    let here: Vec<&str> = if m.is_empty() { vec![] } else { m.split("::").collect() };
    let resolve = |segs: &[&str]| -> Option<String> {
        let (mut base, mut rest) = (Vec::new(), segs);
        match segs.first()? {
            &"crate" => rest = &segs[1..],
            &"self" => {
                base = here.clone();
                rest = &segs[1..];
            }
            &"super" => {
                base = here.clone();
                while rest.first() == Some(&"super") {
                    base.pop();
                    rest = &rest[1..];
                }
            }
            _ => return None,
        }
        let full: Vec<&str> = base.into_iter().chain(rest.iter().copied()).collect();
        (1..=full.len()).rev().map(|k| full[..k].join("::")).find(|c| mods.contains(c))
    };
    let mut out = BTreeSet::new();
    let words: Vec<char> = src.chars().collect();
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut i = 0;
    while i < words.len() {
        let at_start = i == 0 || !(is_word(words[i - 1]) || words[i - 1] == ':');
        if at_start && is_word(words[i]) {
            // A path: words joined by `::`, maybe ending in a `{...}` group.
            let mut j = i;
            let mut segs = vec![];
            loop {
                let s = j;
                while j < words.len() && is_word(words[j]) {
                    j += 1;
                }
                segs.push(words[s..j].iter().collect::<String>());
                if words.get(j) == Some(&':') && words.get(j + 1) == Some(&':') && words.get(j + 2).is_some_and(|&c| is_word(c) || c == '{') {
                    j += 2;
                    if words[j] == '{' {
                        let end = words[j..].iter().position(|&c| c == '}').map_or(words.len(), |e| j + e);
                        let group: String = words[j + 1..end].iter().collect();
                        for item in group.split(',') {
                            let name = item.trim().split([' ', ':']).next().unwrap_or("");
                            if !name.is_empty() && name != "self" {
                                let mut p: Vec<&str> = segs.iter().map(String::as_str).collect();
                                p.push(name);
                                out.extend(resolve(&p));
                            }
                        }
                        j = end;
                        break;
                    }
                } else {
                    break;
                }
            }
            let p: Vec<&str> = segs.iter().map(String::as_str).collect();
            if p.len() > 1 {
                out.extend(resolve(&p));
                let child = if m.is_empty() { p[0].to_string() } else { format!("{m}::{}", p[0]) };
                if mods.contains(&child) {
                    out.insert(child);
                }
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    out.remove(m);
    out
}

#[test]
fn no_file_over_400_lines_and_a_thin_web_layer() {
    let mods = modules();
    let long: Vec<String> = mods.iter().filter(|(_, s)| s.lines().count() > 400).map(|(m, s)| format!("{m}: {} lines", s.lines().count())).collect();
    assert!(long.is_empty(), "files over 400 lines: {long:?}");
    let web: usize = mods.iter().filter(|(m, _)| m.starts_with("web")).map(|(_, s)| s.lines().count()).sum();
    eprintln!("src/web: {web} lines");
    assert!(web < 1000, "src/web has {web} lines");
}

#[test]
fn no_module_imports_a_module_that_imports_it() {
    let mods = modules();
    let names: BTreeSet<String> = mods.keys().cloned().collect();
    let is_ancestor = |a: &str, m: &str| a.is_empty() || m.starts_with(&format!("{a}::"));
    let edges: BTreeMap<&str, BTreeSet<String>> =
        mods.iter().map(|(m, s)| (m.as_str(), uses(m, &code(s), &names).into_iter().filter(|t| !is_ancestor(t, m)).collect())).collect();
    assert!(edges["app::jobs"].contains("app::jobs::bon"), "the checker sees submodules by name");
    assert!(edges["web::page"].contains("ui::page_state"), "the checker sees crate:: paths");
    // Cycles: a module that reaches itself.
    let mut cycles = Vec::new();
    for start in edges.keys() {
        let (mut seen, mut stack) = (BTreeSet::new(), vec![vec![start.to_string()]]);
        while let Some(path) = stack.pop() {
            for next in &edges[path.last().unwrap().as_str()] {
                if next == start {
                    cycles.push(path.join(" -> ") + " -> " + start);
                } else if seen.insert(next.clone()) && edges.contains_key(next.as_str()) {
                    let mut p = path.clone();
                    p.push(next.clone());
                    stack.push(p);
                }
            }
        }
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

/// Every experiment of the registry has its tab in the page skeleton, with
/// its title (the one place outside the registry that names experiments).
#[test]
fn every_experiment_has_a_tab() {
    let html = std::fs::read_to_string("www/index.html").unwrap();
    for e in sharpening_lab::app::Experiment::ALL {
        let tab = format!("id=\"tab-{0}\" data-action=\"tab\" data-view=\"{0}\"", e.key());
        let at = html.find(&tab).unwrap_or_else(|| panic!("www/index.html has no tab for {}", e.key()));
        let label = &html[at..html[at..].find("</button>").unwrap() + at];
        assert!(label.ends_with(&e.title().replace('&', "&amp;")), "tab {} reads {label:?}, not {:?}", e.key(), e.title());
    }
}
