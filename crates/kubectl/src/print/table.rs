//! Human-readable tables from the server's meta.k8s.io/v1 Table: column selection
//! (`-o wide` priorities), NAMESPACE/LABELS/-L columns, kind prefixes, sorting.

use crate::print::tabwriter::TabWriter;
use serde_json::Value;

/// Options that shape a table.
#[derive(Debug, Clone, Default)]
pub struct TableOpts {
    /// `-o wide`.
    pub wide: bool,
    /// `-A`: prepend NAMESPACE.
    pub with_namespace: bool,
    /// `--show-labels`.
    pub show_labels: bool,
    /// `-L` keys.
    pub label_columns: Vec<String>,
    /// Prefix for NAME cells (`deployment.apps/`), when several kinds print.
    pub kind_prefix: Option<String>,
    /// `--no-headers`.
    pub no_headers: bool,
}

/// Formats one cell like kubectl (`fmt.Sprint` of the decoded JSON).
pub fn cell_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "<none>".into(),
        Value::Number(n) => crate::print::json::go_number(n),
        Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

fn labels_text(obj: &Value) -> String {
    let Some(m) = obj.pointer("/metadata/labels").and_then(Value::as_object) else {
        return "<none>".into();
    };
    if m.is_empty() {
        return "<none>".into();
    }
    m.iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
        .collect::<Vec<_>>()
        .join(",")
}

/// The header cells for a Table under `opts`.
pub fn headers(table: &Value, opts: &TableOpts) -> Vec<String> {
    let mut h = Vec::new();
    if opts.with_namespace {
        h.push("NAMESPACE".to_string());
    }
    for c in table
        .get("columnDefinitions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let prio = c.get("priority").and_then(Value::as_i64).unwrap_or(0);
        if prio == 0 || opts.wide {
            h.push(
                c.get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_uppercase(),
            );
        }
    }
    for l in &opts.label_columns {
        h.push(l.rsplit('/').next().unwrap_or(l).to_uppercase());
    }
    if opts.show_labels {
        h.push("LABELS".into());
    }
    h
}

/// The body rows of a Table under `opts`.
pub fn rows(table: &Value, opts: &TableOpts) -> Vec<Vec<String>> {
    let prios: Vec<i64> = table
        .get("columnDefinitions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| c.get("priority").and_then(Value::as_i64).unwrap_or(0))
        .collect();
    let mut out = Vec::new();
    for r in table
        .get("rows")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let obj = r.get("object").cloned().unwrap_or(Value::Null);
        let mut cells = Vec::new();
        if opts.with_namespace {
            cells.push(
                obj.pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            );
        }
        for (i, c) in r
            .get("cells")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let prio = prios.get(i).copied().unwrap_or(0);
            if prio != 0 && !opts.wide {
                continue;
            }
            let mut t = cell_text(c);
            if i == 0 {
                if let Some(p) = &opts.kind_prefix {
                    t = format!("{p}/{t}");
                }
            }
            cells.push(t);
        }
        for l in &opts.label_columns {
            cells.push(
                obj.pointer("/metadata/labels")
                    .and_then(|m| m.get(l))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            );
        }
        if opts.show_labels {
            cells.push(labels_text(&obj));
        }
        out.push(cells);
    }
    out
}

/// Sorts a Table's rows by a JSONPath over each row's object (`--sort-by`).
pub fn sort_rows(table: &mut Value, sort_by: &str) {
    let path = sort_by.trim().trim_start_matches('{').trim_end_matches('}');
    let path = format!("${}", path.trim_start_matches('$'));
    let key = |r: &Value| -> Value {
        let obj = r.get("object").cloned().unwrap_or(Value::Null);
        jsonpath_rust::query::js_path_vals(&path, &obj)
            .ok()
            .and_then(|v| v.first().map(|x| (*x).clone()))
            .unwrap_or(Value::Null)
    };
    if let Some(Value::Array(rows)) = table.get_mut("rows") {
        rows.sort_by(|a, b| {
            let (ka, kb) = (key(a), key(b));
            match (ka.as_f64(), kb.as_f64()) {
                (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
                _ => cell_text(&ka).cmp(&cell_text(&kb)),
            }
        });
    }
}

/// Renders a complete table (headers + rows).
pub fn render(tw: &mut TabWriter, table: &Value, opts: &TableOpts) -> String {
    if !opts.no_headers {
        tw.row(&headers(table, opts));
    }
    for r in rows(table, opts) {
        tw.row(&r);
    }
    tw.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wide_and_namespace() {
        let t = json!({"columnDefinitions": [
            {"name": "Name", "priority": 0}, {"name": "Ready", "priority": 0}, {"name": "IP", "priority": 1}],
            "rows": [{"cells": ["web-1", "1/1", "10.0.0.1"], "object": {"metadata": {"namespace": "default", "labels": {"app": "web"}}}}]});
        let mut tw = TabWriter::new();
        let o = TableOpts {
            show_labels: true,
            ..Default::default()
        };
        assert_eq!(
            render(&mut tw, &t, &o),
            "NAME    READY   LABELS\nweb-1   1/1     app=web\n"
        );
        let mut tw = TabWriter::new();
        let o = TableOpts {
            wide: true,
            with_namespace: true,
            ..Default::default()
        };
        assert_eq!(
            render(&mut tw, &t, &o),
            "NAMESPACE   NAME    READY   IP\ndefault     web-1   1/1     10.0.0.1\n"
        );
    }
}
