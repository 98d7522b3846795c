//! Small HTML builders shared by the views. All text is escaped.

use super::svg::esc;

/// A table; `rows` are already-escaped cell HTML (use [`cell`] for text).
/// The caption sits above the scrolling wrapper so it wraps on narrow screens.
pub fn table(caption: &str, headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut o = format!("<div class=\"table-box\"><p class=\"table-caption\">{0}</p><div class=\"table-wrap\" tabindex=\"0\" role=\"region\" aria-label=\"{0}\"><table><thead><tr>", esc(caption));
    for h in headers {
        o.push_str(&format!("<th scope=\"col\">{}</th>", esc(h)));
    }
    o.push_str("</tr></thead><tbody>");
    for r in rows {
        o.push_str("<tr>");
        for c in r {
            o.push_str(&format!("<td>{c}</td>"));
        }
        o.push_str("</tr>");
    }
    o.push_str("</tbody></table></div></div>");
    o
}

pub fn cell(s: &str) -> String {
    esc(s)
}

/// A number with 3 decimals, or "–" when absent or not finite.
pub fn num3(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.3}"),
        _ => "–".into(),
    }
}

/// A chart with its caption (what it shows, exact or estimated, sample size)
/// and its export buttons.
pub fn figure(chart_id: &str, svg: &str, caption: &str) -> String {
    format!(
        "<figure class=\"chart-box\" data-chart=\"{id}\">{svg}<figcaption>{cap}</figcaption>\
<div class=\"exports\"><button type=\"button\" data-action=\"export-svg\" data-chart=\"{id}\">SVG</button>\
<button type=\"button\" data-action=\"export-png\" data-chart=\"{id}\">PNG</button></div></figure>",
        id = esc(chart_id),
        cap = esc(caption)
    )
}

/// A paragraph of explanatory text.
pub fn para(s: &str) -> String {
    format!("<p class=\"explain\">{}</p>", esc(s))
}

/// The export buttons of a finished run (one per file it offers).
pub fn downloads(ex: &crate::app::protocol::Exports) -> String {
    let buttons: String = ex
        .offered()
        .map(|d| format!("<button type=\"button\" data-action=\"download\" data-what=\"{}\">{}</button>", d.key(), d.label()))
        .collect();
    format!("<div class=\"downloads\" role=\"group\" aria-label=\"Export this run\"><span>Export:</span>{buttons}</div>")
}
