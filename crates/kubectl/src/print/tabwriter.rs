//! Go's text/tabwriter as kubectl configures it (minwidth 6, padding 3, spaces,
//! RememberWidths): every cell but the last of a row is padded to its column's width.

/// Accumulates rows and renders aligned text.
#[derive(Debug, Default, Clone)]
pub struct TabWriter {
    rows: Vec<Vec<String>>,
    widths: Vec<usize>,
}

const MIN_WIDTH: usize = 6;
const PADDING: usize = 3;

impl TabWriter {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a row.
    pub fn row<S: AsRef<str>>(&mut self, cells: &[S]) {
        self.rows
            .push(cells.iter().map(|c| c.as_ref().to_string()).collect());
    }

    /// Renders the buffered rows; column widths are remembered for later flushes.
    pub fn flush(&mut self) -> String {
        for r in &self.rows {
            for (i, c) in r.iter().enumerate() {
                if i + 1 == r.len() {
                    break;
                }
                let w = (c.chars().count() + PADDING).max(MIN_WIDTH);
                if self.widths.len() <= i {
                    self.widths.resize(i + 1, 0);
                }
                self.widths[i] = self.widths[i].max(w);
            }
        }
        let mut out = String::new();
        for r in self.rows.drain(..) {
            let n = r.len();
            for (i, c) in r.into_iter().enumerate() {
                out.push_str(&c);
                if i + 1 < n {
                    let pad = self.widths[i].saturating_sub(c.chars().count());
                    out.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_like_kubectl() {
        let mut t = TabWriter::new();
        t.row(&["CURRENT", "NAME", "NS"]);
        t.row(&["*", "ab", ""]);
        assert_eq!(t.flush(), "CURRENT   NAME   NS\n*         ab     \n");
    }
}
