//! Horizontal bar charts as SVG: one row per answer, one bar per series (e.g.
//! exact probability and sampled frequency, or base and trained model), with a
//! text tag per row (`y*`, right/wrong) so nothing depends on colour alone.

use super::svg::{esc, fmt_num, footer, nice_ticks, open, text, wrapped};

/// One row of an answer distribution: the text tag says whether the answer is
/// `y*` and whether the oracle accepts it; the correct answer is drawn bold.
pub fn answer_row(text: &str, values: Vec<f64>, is_y_star: bool, correct: bool) -> BarRow {
    let verdict = if correct { "right" } else { "wrong" };
    let tag = if is_y_star { format!("y* · {verdict}") } else { verdict.to_string() };
    BarRow { label: text.to_string(), values, tag, strong: correct }
}

#[derive(Clone, Debug)]
pub struct BarRow {
    pub label: String,
    /// One value per series.
    pub values: Vec<f64>,
    /// Shown after the bars, e.g. "y* · correct".
    pub tag: String,
    /// Draw the label bold (the correct answer).
    pub strong: bool,
}

#[derive(Clone, Debug)]
pub struct BarChart {
    pub id: String,
    pub title: String,
    pub x_label: String,
    pub series: Vec<(String, &'static str)>,
    pub rows: Vec<BarRow>,
    /// Upper end of the value axis; None = fitted.
    pub x_max: Option<f64>,
    /// A sentence under the bars (e.g. the unlisted mass).
    pub note: String,
    pub stamp: String,
}

const W: f64 = 460.0;
const TAG_W: f64 = 84.0;
/// Longest label drawn in full; longer ones (free-text answers) are cut to
/// this many characters with an ellipsis, the full text on hover (and in
/// the table beside the chart).
const LABEL_CHARS: usize = 22;

/// `s` cut to `LABEL_CHARS` characters (an ellipsis marks the cut).
pub fn abbreviate(s: &str) -> String {
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= LABEL_CHARS {
        return one_line;
    }
    let mut cut: String = one_line.chars().take(LABEL_CHARS - 1).collect();
    cut.push('…');
    cut
}

impl BarChart {
    pub fn render(&self) -> String {
        let k = self.series.len().max(1);
        let bar_h = 9.0;
        let row_h = bar_h * k as f64 + 8.0;
        let plot_h = row_h * self.rows.len().max(1) as f64;
        // The label column fits the longest (abbreviated) label: about 7 px a character.
        let labels: Vec<String> = self.rows.iter().map(|r| if r.label.is_empty() { "(empty)".into() } else { abbreviate(&r.label) }).collect();
        let widest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
        let left = (widest as f64 * 7.0 + 12.0).clamp(60.0, 170.0);
        let (title, title_end) = wrapped(6.0, 20.0, &self.title, 52, 18.0, "font-size=\"15\" font-weight=\"600\"");
        let legend_y = title_end - 8.0;
        let top = legend_y + 16.0;
        let pw = W - left - TAG_W;
        let data_max = self.rows.iter().flat_map(|r| r.values.iter().copied()).filter(|v| v.is_finite()).fold(0.0, f64::max);
        let x_max = self.x_max.unwrap_or(if data_max > 0.0 { data_max * 1.05 } else { 1.0 });
        let sx = |v: f64| left + (v.clamp(0.0, x_max) / x_max) * pw;
        let axis_y = top + plot_h;
        let (note, note_end) = wrapped(6.0, axis_y + 48.0, &self.note, 58, 15.0, "fill=\"#333\"");
        let (foot, foot_end) = footer(note_end + 6.0, 6.0, &self.stamp, 90);
        let h = foot_end + 4.0;
        let desc = format!(
            "{} for {} answers; series: {}",
            self.x_label,
            self.rows.len(),
            self.series.iter().map(|s| s.0.as_str()).collect::<Vec<_>>().join(", ")
        );
        let mut o = open(&self.id, W, h, &self.title, &desc);
        o.push_str(&title);
        // Legend on one line under the title.
        let mut lx = 6.0;
        for (name, color) in &self.series {
            o.push_str(&format!("<rect x=\"{lx}\" y=\"{legend_y:.1}\" width=\"12\" height=\"9\" fill=\"{color}\"/>"));
            o.push_str(&text(lx + 16.0, legend_y + 8.5, name, ""));
            lx += 16.0 + 7.5 * name.chars().count() as f64 + 16.0;
        }
        for t in nice_ticks(0.0, x_max, 5) {
            let x = sx(t);
            o.push_str(&format!("<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{top:.1}\" y2=\"{axis_y:.1}\" stroke=\"#e3e3e3\"/>"));
            o.push_str(&text(x, axis_y + 14.0, &fmt_num(t), "text-anchor=\"middle\" fill=\"#333\""));
        }
        o.push_str(&format!("<line x1=\"{left}\" x2=\"{left}\" y1=\"{top:.1}\" y2=\"{axis_y:.1}\" stroke=\"#333\"/>"));
        o.push_str(&format!("<line x1=\"{left}\" x2=\"{:.1}\" y1=\"{axis_y:.1}\" y2=\"{axis_y:.1}\" stroke=\"#333\"/>", left + pw));
        o.push_str(&text(left + pw / 2.0, axis_y + 30.0, &self.x_label, "text-anchor=\"middle\""));
        for (i, (r, short)) in self.rows.iter().zip(&labels).enumerate() {
            let y = top + i as f64 * row_h + 4.0;
            let weight = if r.strong { " font-weight=\"700\"" } else { "" };
            let label = if r.label.is_empty() { "(empty)" } else { &r.label };
            // The full answer on hover when the label is cut.
            let t = text(left - 6.0, y + row_h / 2.0, short, &format!("text-anchor=\"end\"{weight}"));
            o.push_str(&if short != label { t.replacen("</text>", &format!("<title>{}</title></text>", esc(label)), 1) } else { t });
            for (j, v) in r.values.iter().enumerate() {
                let color = self.series.get(j).map_or("#000", |s| s.1);
                let w = if v.is_finite() { sx(*v) - left } else { 0.0 };
                o.push_str(&format!(
                    "<rect x=\"{left}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{bar_h}\" fill=\"{color}\"><title>{}: {} = {}</title></rect>",
                    y + j as f64 * bar_h,
                    esc(label),
                    esc(self.series.get(j).map_or("", |s| s.0.as_str())),
                    fmt_num(*v)
                ));
            }
            o.push_str(&text(left + pw + 6.0, y + row_h / 2.0, &r.tag, "fill=\"#333\""));
        }
        o.push_str(&note);
        o.push_str(&foot);
        o.push_str("</svg>");
        o
    }
}
