//! Line charts as SVG: linear or log2 x axis, several series (solid, dashed or
//! dotted, optional markers), a legend below the plot and a provenance footer.
//! Non-finite points are skipped and break the line.

use super::svg::{esc, fmt_num, footer, nice_ticks, open, text};

/// A series' `dash` for a scatter plot: markers, no line.
pub const MARKERS_ONLY: &str = "markers only";

#[derive(Clone, Debug)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub color: &'static str,
    /// SVG dash pattern, e.g. "6 4"; None = solid.
    pub dash: Option<&'static str>,
    pub markers: bool,
}

#[derive(Clone, Debug)]
pub struct LineChart {
    pub id: String,
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub log2_x: bool,
    /// Log scale on y (positive values; ticks at powers of 2).
    pub log2_y: bool,
    /// Fixed y range; None = fitted to the data.
    pub y_range: Option<(f64, f64)>,
    pub series: Vec<Series>,
    /// Provenance stamp printed under the chart.
    pub stamp: String,
}

const W: f64 = 460.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 14.0;
const TOP: f64 = 34.0;
const PLOT_H: f64 = 200.0;

fn finite(p: &(f64, f64)) -> bool {
    p.0.is_finite() && p.1.is_finite()
}

impl LineChart {
    fn x_range(&self) -> (f64, f64) {
        let xs = self.series.iter().flat_map(|s| s.points.iter().filter(|p| finite(p)).map(|p| p.0));
        let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)));
        if !lo.is_finite() {
            return (0.0, 1.0);
        }
        if self.log2_x {
            let lo = lo.max(1e-9).log2().floor();
            let hi = hi.max(1e-9).log2().ceil();
            (lo, if hi > lo { hi } else { lo + 1.0 })
        } else if hi > lo {
            (lo, hi)
        } else {
            (lo - 0.5, lo + 0.5)
        }
    }

    fn y_range_fit(&self) -> (f64, f64) {
        if let Some(r) = self.y_range {
            return r;
        }
        let ys = self.series.iter().flat_map(|s| s.points.iter().filter(|p| finite(p)).map(|p| p.1));
        let (lo, hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| (a.min(y), b.max(y)));
        if !lo.is_finite() {
            return (0.0, 1.0);
        }
        if self.log2_y {
            let (lo, hi) = (lo.max(1e-9).log2().floor(), hi.max(1e-9).log2().ceil());
            return (lo, if hi > lo { hi } else { lo + 1.0 });
        }
        let pad = if hi > lo { 0.05 * (hi - lo) } else { 0.5f64.max(lo.abs() * 0.1) };
        (lo - pad, hi + pad)
    }

    /// The chart as a standalone SVG document.
    pub fn render(&self) -> String {
        let (x0, x1) = self.x_range();
        let (y0, y1) = self.y_range_fit();
        let pw = W - LEFT - RIGHT;
        let sx = |x: f64| {
            let v = if self.log2_x { x.max(1e-9).log2() } else { x };
            LEFT + (v - x0) / (x1 - x0) * pw
        };
        let sy = |y: f64| {
            let v = if self.log2_y { y.max(1e-9).log2() } else { y };
            TOP + (1.0 - (v - y0) / (y1 - y0)) * PLOT_H
        };
        let longest = self.series.iter().map(|s| s.name.chars().count()).max().unwrap_or(0) as f64;
        let cols = if longest * 6.6 + 36.0 <= W / 2.0 { 2 } else { 1 };
        let legend_rows = self.series.len().div_ceil(cols);
        let legend_top = TOP + PLOT_H + 44.0;
        let (foot, foot_end) = footer(legend_top + legend_rows as f64 * 18.0 + 8.0, 6.0, &self.stamp, 90);
        let h = foot_end + 4.0;
        let desc = format!(
            "{} against {}; series: {}",
            self.y_label,
            self.x_label,
            self.series.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ")
        );
        let mut o = open(&self.id, W, h, &self.title, &desc);
        o.push_str(&text(6.0, 20.0, &self.title, "font-size=\"15\" font-weight=\"600\""));
        // Axes, grid and ticks.
        o.push_str("<g stroke=\"#d9d9d9\" stroke-width=\"1\">");
        let yt: Vec<f64> = if self.log2_y {
            let step = ((y1 - y0) / 6.0).ceil().max(1.0) as i64;
            (y0 as i64..=y1 as i64).step_by(step as usize).map(|e| 2f64.powi(e as i32)).collect()
        } else {
            nice_ticks(y0, y1, 5)
        };
        for &t in &yt {
            o.push_str(&format!("<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{1:.1}\" y2=\"{1:.1}\"/>", LEFT + pw, sy(t)));
        }
        o.push_str("</g>");
        for &t in &yt {
            let label = if self.log2_y && t < 0.01 { format!("{t:.0e}") } else { fmt_num(t) };
            o.push_str(&text(LEFT - 6.0, sy(t) + 4.0, &label, "text-anchor=\"end\" fill=\"#333\""));
        }
        let xt: Vec<f64> = if self.log2_x {
            (x0 as i64..=x1 as i64).map(|e| 2f64.powi(e as i32)).collect()
        } else {
            nice_ticks(x0, x1, 6)
        };
        for &t in &xt {
            let x = sx(t);
            o.push_str(&format!("<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{0}\" y2=\"{1}\" stroke=\"#333\"/>", TOP + PLOT_H, TOP + PLOT_H + 4.0));
            o.push_str(&text(x, TOP + PLOT_H + 16.0, &fmt_num(t), "text-anchor=\"middle\" fill=\"#333\""));
        }
        o.push_str(&format!(
            "<rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{pw:.1}\" height=\"{PLOT_H}\" fill=\"none\" stroke=\"#333\"/>"
        ));
        let x_label = if self.log2_x { format!("{} (log scale)", self.x_label) } else { self.x_label.clone() };
        o.push_str(&text(LEFT + pw / 2.0, TOP + PLOT_H + 32.0, &x_label, "text-anchor=\"middle\""));
        o.push_str(&format!(
            "<text transform=\"translate(14 {:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
            TOP + PLOT_H / 2.0,
            esc(&if self.log2_y { format!("{} (log scale)", self.y_label) } else { self.y_label.clone() })
        ));
        // Series.
        for s in &self.series {
            let scatter = s.dash == Some(MARKERS_ONLY);
            let dash = s.dash.map_or(String::new(), |d| format!(" stroke-dasharray=\"{d}\""));
            let mut path = String::new();
            let mut pen_down = false;
            for p in &s.points {
                if !finite(p) {
                    pen_down = false;
                    continue;
                }
                path.push_str(&format!("{}{:.1},{:.1} ", if pen_down { "L" } else { "M" }, sx(p.0), sy(p.1)));
                pen_down = true;
            }
            if !scatter {
                o.push_str(&format!(
                    "<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{dash}><title>{}</title></path>",
                    path.trim_end(),
                    s.color,
                    esc(&s.name)
                ));
            }
            if s.markers || scatter {
                for p in s.points.iter().filter(|p| finite(p)) {
                    o.push_str(&format!(
                        "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{}\"><title>{}: {} at {}</title></circle>",
                        sx(p.0), sy(p.1), s.color, esc(&s.name), fmt_num(p.1), fmt_num(p.0)
                    ));
                }
            }
        }
        // Legend: two columns below the plot.
        for (i, s) in self.series.iter().enumerate() {
            let x = 6.0 + (i % cols) as f64 * (W / 2.0);
            let y = legend_top + (i / cols) as f64 * 18.0;
            if s.dash == Some(MARKERS_ONLY) {
                o.push_str(&format!("<circle cx=\"{}\" cy=\"{y}\" r=\"3\" fill=\"{}\"/>", x + 11.0, s.color));
            } else {
                let dash = s.dash.map_or(String::new(), |d| format!(" stroke-dasharray=\"{d}\""));
                o.push_str(&format!("<line x1=\"{x}\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\" stroke=\"{}\" stroke-width=\"2\"{dash}/>", x + 22.0, s.color));
            }
            o.push_str(&text(x + 28.0, y + 4.0, &s.name, "font-size=\"12\""));
        }
        o.push_str(&foot);
        o.push_str("</svg>");
        o
    }
}
