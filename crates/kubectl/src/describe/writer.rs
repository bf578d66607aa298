//! Go's `text/tabwriter` algorithm (tab-terminated cells, column blocks of adjacent
//! lines) configured as kubectl's describers use it (minwidth 0, padding 2, spaces),
//! plus the describers' prefix writer (two spaces per level).

/// Buffers text and aligns it on [`GoTab::finish`].
#[derive(Debug, Default)]
pub struct GoTab {
    text: String,
}

const PADDING: usize = 2;

impl GoTab {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes `s` indented by `level` (two spaces each), like PrefixWriter.Write.
    pub fn w(&mut self, level: usize, s: &str) {
        for _ in 0..level {
            self.text.push_str("  ");
        }
        self.text.push_str(s);
    }

    /// Writes a whole line at level 0 (PrefixWriter.WriteLine).
    pub fn line(&mut self, s: &str) {
        self.text.push_str(s);
        self.text.push('\n');
    }

    /// The text as written, tabs kept (printTemplate writes to a plain buffer).
    pub fn raw(self) -> String {
        self.text
    }

    /// Aligns everything written so far.
    pub fn finish(self) -> String {
        format_text(&self.text)
    }
}

/// Aligns tab-separated text the way Go's tabwriter does.
pub fn format_text(text: &str) -> String {
    // each line: its cells; all but the last were tab-terminated
    let mut lines: Vec<Vec<&str>> = text.split('\n').map(|l| l.split('\t').collect()).collect();
    // a trailing newline leaves an empty last line: not part of the output
    let ends_nl = text.ends_with('\n');
    if ends_nl {
        lines.pop();
    }
    let mut out = String::new();
    let mut widths = Vec::new();
    format(&lines, 0, lines.len(), &mut widths, &mut out);
    if !ends_nl && out.ends_with('\n') {
        out.pop();
    }
    out
}

fn width(s: &str) -> usize {
    s.chars().count()
}

fn format(
    lines: &[Vec<&str>],
    mut line0: usize,
    line1: usize,
    widths: &mut Vec<usize>,
    out: &mut String,
) {
    let column = widths.len();
    let mut this = line0;
    while this < line1 {
        if column + 1 >= lines[this].len() {
            this += 1;
            continue;
        }
        write_lines(lines, line0, this, widths, out);
        line0 = this;
        let mut w = 0;
        while this < line1 && column + 1 < lines[this].len() {
            w = w.max(width(lines[this][column]) + PADDING);
            this += 1;
        }
        widths.push(w);
        format(lines, line0, this, widths, out);
        widths.pop();
        line0 = this;
    }
    write_lines(lines, line0, line1, widths, out);
}

fn write_lines(lines: &[Vec<&str>], from: usize, to: usize, widths: &[usize], out: &mut String) {
    for line in &lines[from..to] {
        for (j, cell) in line.iter().enumerate() {
            out.push_str(cell);
            if j < widths.len() && j + 1 < line.len() {
                for _ in width(cell)..widths[j] {
                    out.push(' ');
                }
            }
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_align_independently() {
        let t = "Name:\tx\nService Account:\tdefault\nIP:\t\nContainers:\n  a:\n    Image:\tbusybox\n    Port:\t<none>\nPort:\thttps\t443/TCP\nTargetPort:\t6443/TCP\n";
        assert_eq!(
            format_text(t),
            "Name:             x\nService Account:  default\nIP:               \nContainers:\n  a:\n    Image:   busybox\n    Port:    <none>\nPort:        https  443/TCP\nTargetPort:  6443/TCP\n"
        );
    }
}
