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
const LEFT: f64 = 60.0;
const TAG_W: f64 = 84.0;
const TOP: f64 = 46.0;

impl BarChart {
    pub fn render(&self) -> String {
        let k = self.series.len().max(1);
        let bar_h = 9.0;
        let row_h = bar_h * k as f64 + 8.0;
        let plot_h = row_h * self.rows.len().max(1) as f64;
        let pw = W - LEFT - TAG_W;
        let data_max = self.rows.iter().flat_map(|r| r.values.iter().copied()).filter(|v| v.is_finite()).fold(0.0, f64::max);
        let x_max = self.x_max.unwrap_or(if data_max > 0.0 { data_max * 1.05 } else { 1.0 });
        let sx = |v: f64| LEFT + (v.clamp(0.0, x_max) / x_max) * pw;
        let axis_y = TOP + plot_h;
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
        o.push_str(&text(6.0, 20.0, &self.title, "font-size=\"15\" font-weight=\"600\""));
        // Legend on one line under the title.
        let mut lx = 6.0;
        for (name, color) in &self.series {
            o.push_str(&format!("<rect x=\"{lx}\" y=\"30\" width=\"12\" height=\"9\" fill=\"{color}\"/>"));
            o.push_str(&text(lx + 16.0, 38.5, name, ""));
            lx += 16.0 + 7.5 * name.chars().count() as f64 + 16.0;
        }
        for t in nice_ticks(0.0, x_max, 5) {
            let x = sx(t);
            o.push_str(&format!("<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{TOP}\" y2=\"{axis_y:.1}\" stroke=\"#e3e3e3\"/>"));
            o.push_str(&text(x, axis_y + 14.0, &fmt_num(t), "text-anchor=\"middle\" fill=\"#333\""));
        }
        o.push_str(&format!("<line x1=\"{LEFT}\" x2=\"{LEFT}\" y1=\"{TOP}\" y2=\"{axis_y:.1}\" stroke=\"#333\"/>"));
        o.push_str(&format!("<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{axis_y:.1}\" y2=\"{axis_y:.1}\" stroke=\"#333\"/>", LEFT + pw));
        o.push_str(&text(LEFT + pw / 2.0, axis_y + 30.0, &self.x_label, "text-anchor=\"middle\""));
        for (i, r) in self.rows.iter().enumerate() {
            let y = TOP + i as f64 * row_h + 4.0;
            let weight = if r.strong { " font-weight=\"700\"" } else { "" };
            let label = if r.label.is_empty() { "(empty)" } else { &r.label };
            o.push_str(&text(LEFT - 6.0, y + row_h / 2.0, label, &format!("text-anchor=\"end\"{weight}")));
            for (j, v) in r.values.iter().enumerate() {
                let color = self.series.get(j).map_or("#000", |s| s.1);
                let w = if v.is_finite() { sx(*v) - LEFT } else { 0.0 };
                o.push_str(&format!(
                    "<rect x=\"{LEFT}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{bar_h}\" fill=\"{color}\"><title>{}: {} = {}</title></rect>",
                    y + j as f64 * bar_h,
                    esc(label),
                    esc(self.series.get(j).map_or("", |s| s.0.as_str())),
                    fmt_num(*v)
                ));
            }
            o.push_str(&text(LEFT + pw + 6.0, y + row_h / 2.0, &r.tag, "fill=\"#333\""));
        }
        o.push_str(&note);
        o.push_str(&foot);
        o.push_str("</svg>");
        o
    }
}
