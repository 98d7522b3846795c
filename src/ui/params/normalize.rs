//! A parameter's value checked against its declaration: clamped, cleaned
//! or rejected (falling back to the default), always with a message saying
//! what changed, never failing.

use super::{Kind, Param};

/// Checks `raw` against `p`; the canonical value, and a message when the value
/// was changed (clamped, cleaned) or rejected (then the default is used).
pub fn normalize(p: &Param, raw: &str) -> (String, Option<String>) {
    let reject = |why: &str| (p.default.to_string(), Some(format!("{}: {why}; using the default {:?}", p.label, p.default)));
    let raw = raw.trim();
    match p.kind {
        Kind::Choice(opts) => match opts.contains(&raw) {
            true => (raw.to_string(), None),
            false => reject(&format!("{raw:?} is not one of {}", opts.join(", "))),
        },
        Kind::ChoiceSet(opts) => {
            let parts: Vec<&str> = if raw == "all" { opts.to_vec() } else { raw.split(',').map(str::trim).collect() };
            let bad: Vec<&str> = parts.iter().copied().filter(|s| !opts.contains(s)).collect();
            let good: Vec<&str> = opts.iter().copied().filter(|o| parts.contains(o)).collect();
            match (good.is_empty(), bad.is_empty()) {
                (true, _) => reject(&format!("{raw:?} names none of {}", opts.join(", "))),
                (false, true) => (good.join(","), None),
                (false, false) => (good.join(","), Some(format!("{}: ignored {}", p.label, bad.join(", ")))),
            }
        }
        Kind::Int { min, max } => match raw.parse::<i64>() {
            Ok(v) => clamp_msg(p, v.clamp(min, max).to_string(), v < min || v > max, raw),
            Err(_) => reject(&format!("{raw:?} is not a whole number")),
        },
        Kind::Float { min, max } => match raw.parse::<f64>() {
            Ok(v) if v.is_finite() => clamp_msg(p, fmt_f64(v.clamp(min, max)), v < min || v > max, raw),
            _ => reject(&format!("{raw:?} is not a number")),
        },
        Kind::IntList { min, max, len } => normalize_list(p, raw, (min as f64, max as f64), len, true),
        Kind::FloatList { min, max, len } => normalize_list(p, raw, (min, max), len, false),
        Kind::Text { max_len } => {
            // Trimmed again after the cut: control characters or the length limit can leave a space at an end (found by fuzzing).
            let clean: String = raw.chars().filter(|c| !c.is_control()).take(max_len).collect::<String>().trim().to_string();
            let msg = (clean != raw).then(|| format!("{}: shortened or cleaned to {clean:?}", p.label));
            (clean, msg)
        }
    }
}

/// A comma-separated list, clamped to `range`, sorted, distinct, at most
/// `len` values; `whole`: integers only.
fn normalize_list(p: &Param, raw: &str, (min, max): (f64, f64), len: usize, whole: bool) -> (String, Option<String>) {
    let fmt = |v: f64| if whole { format!("{}", v as i64) } else { fmt_f64(v) };
    let mut vals: Vec<f64> = Vec::new();
    let mut changed = false;
    for part in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let v = if whole { part.parse::<i64>().ok().map(|v| v as f64) } else { part.parse::<f64>().ok().filter(|v| v.is_finite()) };
        match v {
            Some(v) => {
                changed |= v < min || v > max;
                vals.push(v.clamp(min, max));
            }
            None => changed = true,
        }
    }
    vals.sort_unstable_by(f64::total_cmp);
    vals.dedup();
    if vals.len() > len {
        vals.truncate(len);
        changed = true;
    }
    let (lo, hi, what) = (fmt(min), fmt(max), if whole { "whole numbers" } else { "numbers" });
    if vals.is_empty() {
        let why = format!("{raw:?} holds no {what} in {lo}..={hi}");
        return (p.default.to_string(), Some(format!("{}: {why}; using the default {:?}", p.label, p.default)));
    }
    let canon = vals.iter().map(|&v| fmt(v)).collect::<Vec<_>>().join(",");
    let msg = changed.then(|| format!("{}: {raw:?} read as {canon} (each in {lo}..={hi}, at most {len})", p.label));
    (canon, msg)
}

fn clamp_msg(p: &Param, canon: String, clamped: bool, raw: &str) -> (String, Option<String>) {
    let msg = clamped.then(|| match p.kind {
        Kind::Int { min, max } => format!("{}: {raw} is outside {min}..={max}; using {canon}", p.label),
        Kind::Float { min, max } => format!("{}: {raw} is outside {}..={}; using {canon}", p.label, fmt_f64(min), fmt_f64(max)),
        _ => String::new(),
    });
    (canon, msg)
}

/// Shortest text that reads back as the same `f64`.
pub fn fmt_f64(v: f64) -> String {
    format!("{v}")
}
