//! The Prometheus text exposition format 0.0.4: `# HELP`/`# TYPE` lines and samples with
//! escaped label values.

use std::fmt::Write;

/// The `Content-Type` of a scrape in this format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Writes the `# HELP` and `# TYPE` lines of a family.
pub(crate) fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let help = help.replace('\\', "\\\\").replace('\n', "\\n");
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A number as Prometheus prints it (`+Inf`, `-Inf`, `NaN`, shortest decimal otherwise).
pub(crate) fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

fn escape_value(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Writes one sample line: `name{label="value",…} number`; `extra` is appended as the
/// last label (histograms' `le`).
pub(crate) fn sample(
    out: &mut String,
    name: &str,
    labels: &[String],
    values: &[&str],
    extra: Option<(&str, &str)>,
    v: f64,
) {
    out.push_str(name);
    let pairs = labels
        .iter()
        .map(String::as_str)
        .zip(values.iter().copied());
    let all: Vec<(&str, &str)> = pairs.chain(extra).collect();
    if !all.is_empty() {
        out.push('{');
        for (i, (k, val)) in all.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(k);
            out.push_str("=\"");
            escape_value(out, val);
            out.push('"');
        }
        out.push('}');
    }
    out.push(' ');
    out.push_str(&number(v));
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_escapes() {
        let cases = [
            (3.0, "3"),
            (0.005, "0.005"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
        ];
        for (v, want) in cases {
            assert_eq!(number(v), want);
        }
        let mut out = String::new();
        let labels = vec!["path".to_string()];
        sample(&mut out, "x", &labels, &["a\"b\\c\nd"], None, 1.0);
        assert_eq!(out, "x{path=\"a\\\"b\\\\c\\nd\"} 1\n");
        let mut h = String::new();
        header(&mut h, "x", "two\nlines \\", "gauge");
        assert_eq!(h, "# HELP x two\\nlines \\\\\n# TYPE x gauge\n");
    }
}
