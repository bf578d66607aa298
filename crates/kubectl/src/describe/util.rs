//! Building blocks shared by the describers: multi-line labels/annotations/taints/
//! tolerations, RFC 1123 times, human durations, label selectors and the Events table.

use crate::describe::writer::GoTab;
use crate::json_get::{arr, gv, i, s};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// Parses an RFC 3339 timestamp.
pub fn parse_time(t: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// `time.RFC1123Z` in local time; Go's zero time for absent values.
pub fn rfc1123z(t: &str) -> String {
    match parse_time(t) {
        Some(d) => d
            .with_timezone(&chrono::Local)
            .format("%a, %d %b %Y %H:%M:%S %z")
            .to_string(),
        None => "Mon, 01 Jan 0001 00:00:00 +0000".into(),
    }
}

/// `duration.HumanDuration` of the time since `t` (`<unknown>` when absent).
pub fn since(t: &str) -> String {
    match parse_time(t) {
        Some(d) => human_duration((Utc::now() - d).num_milliseconds() / 1000),
        None => "<unknown>".into(),
    }
}

/// k8s.io/apimachinery's `duration.HumanDuration` on whole seconds.
pub fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    if secs < 0 {
        return "0s".into();
    }
    if secs < 120 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        let s = secs % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = secs / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// `printLabelsMultiline`: `TITLE:\tk=v` then continuation lines, sorted.
pub fn labels(w: &mut GoTab, title: &str, m: Option<&Map<String, Value>>) {
    w.w(0, &format!("{title}:\t"));
    let mut keys: Vec<&String> = m.map(|m| m.keys().collect()).unwrap_or_default();
    if keys.is_empty() {
        w.line("<none>");
        return;
    }
    keys.sort();
    for (n, k) in keys.iter().enumerate() {
        if n != 0 {
            w.w(0, "\t");
        }
        let v = m.and_then(|m| m.get(*k));
        w.w(0, &format!("{k}={}\n", gv(v)));
    }
}

const MAX_ANNOTATION_LEN: usize = 140;

fn shorten(s: &str, max: usize) -> String {
    if s.len() > max {
        let cut: String = s.chars().take(max).collect();
        format!("{cut}...")
    } else {
        s.to_string()
    }
}

/// `printAnnotationsMultiline`: skips last-applied-configuration, folds long values.
pub fn annotations(w: &mut GoTab, title: &str, m: Option<&Map<String, Value>>) {
    w.w(0, &format!("{title}:\t"));
    let mut keys: Vec<&String> = m
        .map(|m| {
            m.keys()
                .filter(|k| *k != "kubectl.kubernetes.io/last-applied-configuration")
                .collect()
        })
        .unwrap_or_default();
    if keys.is_empty() {
        w.line("<none>");
        return;
    }
    keys.sort();
    for (n, k) in keys.iter().enumerate() {
        if n != 0 {
            w.w(0, "\t");
        }
        let raw = gv(m.and_then(|m| m.get(*k)));
        let value = raw.strip_suffix('\n').unwrap_or(&raw);
        if value.len() + k.len() + 2 > MAX_ANNOTATION_LEN || value.contains('\n') {
            w.w(0, &format!("{k}:\n"));
            for part in value.split('\n') {
                w.w(
                    0,
                    &format!("\t  {}\n", shorten(part, MAX_ANNOTATION_LEN - 2)),
                );
            }
        } else {
            w.w(0, &format!("{k}: {value}\n"));
        }
    }
}

/// `printPodTolerationsMultiline`.
pub fn tolerations(w: &mut GoTab, title: &str, list: &[Value]) {
    w.w(0, &format!("{title}:\t"));
    if list.is_empty() {
        w.line("<none>");
        return;
    }
    let mut sorted: Vec<&Value> = list.iter().collect();
    sorted.sort_by_key(|t| s(t, "/key").to_string());
    for (n, t) in sorted.into_iter().enumerate() {
        if n != 0 {
            w.w(0, "\t");
        }
        let (key, value, effect) = (s(t, "/key"), s(t, "/value"), s(t, "/effect"));
        let mut line = key.to_string();
        if !value.is_empty() {
            line.push_str(&format!("={value}"));
        }
        if !effect.is_empty() {
            line.push_str(&format!(":{effect}"));
        }
        if s(t, "/operator") == "Exists" && value.is_empty() {
            if !key.is_empty() || !effect.is_empty() {
                line.push_str(" op=Exists");
            } else {
                line.push_str("op=Exists");
            }
        }
        if let Some(secs) = t.get("tolerationSeconds").and_then(Value::as_i64) {
            line.push_str(&format!(" for {secs}s"));
        }
        w.line(&line);
    }
}

/// `printNodeTaintsMultiline`: sorted by effect then key.
pub fn taints(w: &mut GoTab, title: &str, list: &[Value]) {
    w.w(0, &format!("{title}:\t"));
    if list.is_empty() {
        w.line("<none>");
        return;
    }
    let mut sorted: Vec<&Value> = list.iter().collect();
    sorted.sort_by_key(|t| format!("{},{}", s(t, "/effect"), s(t, "/key")));
    for (n, t) in sorted.iter().enumerate() {
        if n != 0 {
            w.w(0, "\t");
        }
        let value = s(t, "/value");
        let text = if value.is_empty() {
            format!("{}:{}", s(t, "/key"), s(t, "/effect"))
        } else {
            format!("{}={value}:{}", s(t, "/key"), s(t, "/effect"))
        };
        w.line(&text);
    }
}

/// `labels.FormatLabels`: sorted `k=v` joined by commas, `<none>` when empty.
pub fn format_labels(m: Option<&Map<String, Value>>) -> String {
    let mut kv: Vec<String> = m
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", gv(Some(v))))
                .collect()
        })
        .unwrap_or_default();
    if kv.is_empty() {
        return "<none>".into();
    }
    kv.sort();
    kv.join(",")
}

/// A LabelSelector as `labels.Selector.String()` (requirements sorted by key), by the one
/// selector rule in skiff-api; `<error>` for an invalid selector, as `FormatLabelSelector`.
pub fn selector_string(sel: Option<&Value>) -> String {
    let Some(sel) = sel else {
        return String::new();
    };
    match skiff_api::selector::LabelSelector::from_label_selector_json(sel) {
        Ok(selector) => selector.to_string(),
        Err(_) => "<error>".into(),
    }
}

/// `metav1.FormatLabelSelector`: like [`selector_string`], `<none>` when empty.
pub fn format_label_selector(sel: Option<&Value>) -> String {
    let t = selector_string(sel);
    if t.is_empty() {
        "<none>".into()
    } else {
        t
    }
}

/// `Controlled By` text: `Kind/name` of the controller owner reference.
pub fn controller_of(o: &Value) -> Option<String> {
    arr(o, "/metadata/ownerReferences")
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        .map(|r| format!("{}/{}", s(r, "/kind"), s(r, "/name")))
}

/// `DescribeEvents`: `Events:\t<none>` or the sorted Type/Reason/Age/From/Message table.
pub fn events(w: &mut GoTab, list: &[Value]) {
    if list.is_empty() {
        w.w(0, "Events:\t<none>\n");
        return;
    }
    let mut evs: Vec<&Value> = list.iter().collect();
    // SortableEvents orders by lastTimestamp (insertion sort for short lists: stable)
    evs.sort_by_key(|e| parse_time(s(e, "/lastTimestamp")));
    w.w(0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n");
    w.w(1, "----\t------\t----\t----\t-------\n");
    for e in evs {
        let first = if s(e, "/eventTime").is_empty() {
            since(s(e, "/firstTimestamp"))
        } else {
            since(s(e, "/eventTime"))
        };
        let count = i(e, "/count");
        let interval = if e.get("series").is_some_and(|v| !v.is_null()) {
            format!(
                "{} (x{} over {first})",
                since(s(e, "/series/lastObservedTime")),
                i(e, "/series/count")
            )
        } else if count > 1 {
            format!("{} (x{count} over {first})", since(s(e, "/lastTimestamp")))
        } else {
            first
        };
        let mut source = s(e, "/source/component");
        if source.is_empty() {
            source = s(e, "/reportingComponent");
        }
        w.w(
            1,
            &format!(
                "{}\t{}\t{interval}\t{source}\t{}\n",
                s(e, "/type"),
                s(e, "/reason"),
                s(e, "/message").trim()
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations() {
        for (secs, want) in [
            (5, "5s"),
            (119, "119s"),
            (522, "8m42s"),
            (600, "10m"),
            (3 * 3600 + 60, "3h1m"),
            (9 * 3600, "9h"),
            (3 * 86400 + 3600, "3d1h"),
        ] {
            assert_eq!(human_duration(secs), want);
        }
    }

    #[test]
    fn selectors() {
        let sel = serde_json::json!({"matchLabels": {"b": "2", "a": "1"},
            "matchExpressions": [{"key": "c", "operator": "In", "values": ["y", "x"]}]});
        assert_eq!(selector_string(Some(&sel)), "a=1,b=2,c in (x,y)");
    }
}
