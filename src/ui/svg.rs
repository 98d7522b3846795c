//! Shared pieces of the SVG charts: escaping, the colour-blind-safe palette
//! (Okabe & Ito 2008), tick positions and number formats.

/// Okabe-Ito colours, distinguishable with the common colour-vision deficiencies.
pub const BLUE: &str = "#0072B2";
pub const ORANGE: &str = "#E69F00";
pub const SKY: &str = "#56B4E9";
pub const GREEN: &str = "#009E73";
pub const VERMILLION: &str = "#D55E00";
pub const PURPLE: &str = "#CC79A7";
pub const BLACK: &str = "#000000";
pub const GREY: &str = "#6b6b6b";

/// Font used in every chart (and so in PNG exports).
pub const FONT: &str = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";

/// Escapes text for XML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' => {}
            c => out.push(c),
        }
    }
    out
}

/// About `count` round tick values covering `[lo, hi]` (steps of 1, 2 or 5 x 10^k).
pub fn nice_ticks(lo: f64, hi: f64, count: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo || count == 0 {
        return vec![lo];
    }
    let raw = (hi - lo) / count as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// A tick label: integers plainly, otherwise up to 3 significant digits.
pub fn fmt_num(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if v.fract() == 0.0 && v.abs() < 1e6 {
        return format!("{v:.0}");
    }
    let digits = (2 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
    let s = format!("{v:.digits$}");
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

/// Opening tag of a chart: sized by its viewBox, titled for screen readers.
pub fn open(id: &str, w: f64, h: f64, title: &str, desc: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"{}\" class=\"chart\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-labelledby=\"{0}-t {0}-d\" font-family=\"{}\" font-size=\"13\">\
<title id=\"{0}-t\">{}</title><desc id=\"{0}-d\">{}</desc><rect width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>",
        esc(id), esc(FONT), esc(title), esc(desc)
    )
}

/// Text element.
pub fn text(x: f64, y: f64, s: &str, attrs: &str) -> String {
    format!("<text x=\"{x:.1}\" y=\"{y:.1}\" {attrs}>{}</text>", esc(s))
}

/// `s` wrapped onto lines of at most `chars` characters from `(x, y)`, each
/// `line_h` below the last; returns the elements and the y after the last line.
pub fn wrapped(x: f64, y: f64, s: &str, chars: usize, line_h: f64, attrs: &str) -> (String, f64) {
    let mut out = String::new();
    let mut line = String::new();
    let mut yy = y;
    for word in s.split(' ') {
        if line.chars().count() + word.chars().count() + 1 > chars && !line.is_empty() {
            out.push_str(&text(x, yy, &line, attrs));
            yy += line_h;
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(&text(x, yy, &line, attrs));
        yy += line_h;
    }
    (out, yy)
}

/// The provenance footer every chart carries (so SVG/PNG exports are stamped).
pub fn footer(y: f64, x: f64, stamp: &str, chars: usize) -> (String, f64) {
    wrapped(x, y, stamp, chars, 11.0, "font-size=\"9\" fill=\"#6b6b6b\"")
}
