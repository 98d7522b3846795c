//! Plain-text tables for the terminal.

pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Self { header: header.iter().map(|s| s.to_string()).collect(), rows: vec![] }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn print(&self) {
        let n = self.header.len();
        let width: Vec<usize> = (0..n)
            .map(|i| self.rows.iter().map(|r| r[i].chars().count()).chain([self.header[i].len()]).max().unwrap())
            .collect();
        let line = |cells: &[String]| {
            let s: Vec<String> = cells.iter().zip(&width).map(|(c, w)| format!("{c:>w$}")).collect();
            println!("  {}", s.join("  "));
        };
        line(&self.header);
        println!("  {}", width.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("  "));
        for r in &self.rows {
            line(r);
        }
    }
}

/// A probability or rate with 3 decimals.
pub fn f3(x: f64) -> String {
    format!("{x:.3}")
}

pub fn opt3(x: Option<f64>) -> String {
    x.map_or("-".into(), f3)
}
