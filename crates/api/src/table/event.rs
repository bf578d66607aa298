//! The event printer (core/v1 and events.k8s.io/v1, which upstream prints through the same internal type).

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::duration::since;
use super::{col, Column, NAME_DOC};
use crate::json::{at, str_at};

pub(super) fn columns() -> Vec<Column> {
    vec![
        col("Last Seen", "string", "The time at which the most recent occurrence of this event was recorded.", 0),
        col("Type", "string", "Type of this event (Normal, Warning), new types could be added in the future", 0),
        col("Reason", "string", "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.", 0),
        col("Object", "string", "The object that this event is about.", 0),
        col("Subobject", "string", "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, if the object reference is to a container within a pod, this would take on a value like: \"spec.containers{name}\" (where \"name\" refers to the name of the container that triggered the event) or if no container name is specified \"spec.containers[2]\" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object.", 1),
        col("Source", "string", "The component reporting this event. Should be a short machine understandable string.", 1),
        col("Message", "string", "A human-readable description of the status of this operation.", 0),
        col("First Seen", "string", "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)", 1),
        col("Count", "string", "The number of times this event has occurred.", 1),
        Column {
            name: "Name",
            type_: "string",
            format: "name",
            description: NAME_DOC,
            priority: 1,
        },
    ]
}

/// Maps an events.k8s.io/v1 Event onto the core/v1 field names the printer reads.
pub(super) fn from_events_v1(ev: &Value) -> Value {
    let mut out = Map::new();
    let copy = |out: &mut Map<String, Value>, from: &str, to: &str| {
        if let Some(v) = ev.get(from) {
            out.insert(to.to_string(), v.clone());
        }
    };
    for k in [
        "metadata",
        "type",
        "reason",
        "eventTime",
        "series",
        "reportingController",
        "reportingInstance",
    ] {
        copy(&mut out, k, k);
    }
    copy(&mut out, "regarding", "involvedObject");
    copy(&mut out, "note", "message");
    copy(&mut out, "deprecatedSource", "source");
    copy(&mut out, "deprecatedFirstTimestamp", "firstTimestamp");
    copy(&mut out, "deprecatedLastTimestamp", "lastTimestamp");
    copy(&mut out, "deprecatedCount", "count");
    Value::Object(out)
}

fn ts(ev: &Value, key: &str) -> Option<String> {
    ev.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn first_non_empty<'a>(a: &'a str, b: &'a str) -> &'a str {
    if a.is_empty() {
        b
    } else {
        a
    }
}

pub(super) fn cells(ev: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let first = match ts(ev, "firstTimestamp") {
        Some(t) => since(Some(&t), now),
        None => since(ts(ev, "eventTime").as_deref(), now),
    };
    let mut last = match ts(ev, "lastTimestamp") {
        Some(t) => since(Some(&t), now),
        None => first.clone(),
    };
    let mut count = ev.get("count").and_then(Value::as_i64).unwrap_or(0);
    if let Some(series) = ev.get("series").filter(|s| s.is_object()) {
        last = since(series.get("lastObservedTime").and_then(Value::as_str), now);
        count = series.get("count").and_then(Value::as_i64).unwrap_or(0);
    } else if count == 0 {
        count = 1;
    }
    let kind = str_at(ev, &["involvedObject", "kind"]).to_lowercase();
    let name = str_at(ev, &["involvedObject", "name"]);
    let target = if name.is_empty() {
        kind
    } else {
        format!("{kind}/{name}")
    };
    let component = first_non_empty(
        str_at(ev, &["source", "component"]),
        str_at(ev, &["reportingController"]),
    );
    let host = first_non_empty(
        str_at(ev, &["source", "host"]),
        str_at(ev, &["reportingInstance"]),
    );
    let source = if host.is_empty() {
        component.to_string()
    } else {
        format!("{component}, {host}")
    };
    vec![
        json!(last),
        json!(str_at(ev, &["type"])),
        json!(str_at(ev, &["reason"])),
        json!(target),
        json!(str_at(ev, &["involvedObject", "fieldPath"])),
        json!(source),
        json!(at(ev, &["message"])
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()),
        json!(first),
        json!(count),
        json!(str_at(ev, &["metadata", "name"])),
    ]
}
