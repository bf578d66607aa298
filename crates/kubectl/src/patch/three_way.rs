//! kubectl's client-side apply patch: the last-applied-configuration annotation (the
//! applied object as Go's sorted JSON) and the three-way strategic merge patch from the
//! original (last applied), modified (the file) and current (live) objects.

use serde_json::{json, Map, Value};

/// The annotation client-side apply records the applied configuration in.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Go's json.Marshal of a map: keys sorted.
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut o = Map::new();
            for k in keys {
                o.insert(k.clone(), sorted(&m[k]));
            }
            Value::Object(o)
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        x => x.clone(),
    }
}

/// The merge key of list field `key` under `path` (strategic merge metadata).
fn merge_key(path: &[String], key: &str) -> Option<&'static str> {
    let in_container = path
        .iter()
        .any(|p| p == "containers" || p == "initContainers" || p == "ephemeralContainers");
    match key {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "imagePullSecrets"
        | "env" => Some("name"),
        "volumeMounts" => Some("mountPath"),
        "volumeDevices" => Some("devicePath"),
        "hostAliases" => Some("ip"),
        "ports" if in_container => Some("containerPort"),
        "ports" if path.last().is_some_and(|p| p == "spec") => Some("port"),
        "conditions" => Some("type"),
        "ownerReferences" => Some("uid"),
        _ => None,
    }
}

/// Three-way strategic merge patch of maps: changes from `current` to `modified`, and
/// deletions of what `original` had and `modified` dropped.
pub fn three_way(
    original: Option<&Value>,
    modified: &Value,
    current: Option<&Value>,
    path: &mut Vec<String>,
) -> Map<String, Value> {
    let mut patch = Map::new();
    let empty = Map::new();
    let m = modified.as_object().unwrap_or(&empty);
    let c = current.and_then(Value::as_object).unwrap_or(&empty);
    let o = original.and_then(Value::as_object).unwrap_or(&empty);
    for (k, mv) in m {
        let cv = c.get(k);
        let ov = o.get(k);
        match (mv, cv) {
            (Value::Object(_), Some(Value::Object(_))) => {
                path.push(k.clone());
                let sub = three_way(ov, mv, cv, path);
                path.pop();
                if !sub.is_empty() {
                    patch.insert(k.clone(), Value::Object(sub));
                }
            }
            (Value::Array(ma), Some(Value::Array(ca))) => {
                if let Some(key) = merge_key(path, k) {
                    path.push(k.clone());
                    let oa = ov.and_then(Value::as_array).cloned().unwrap_or_default();
                    let items = keyed_list(&oa, ma, ca, key, path);
                    path.pop();
                    if !items.is_empty() {
                        patch.insert(k.clone(), Value::Array(items));
                        let order: Vec<Value> = ma
                            .iter()
                            .filter_map(|e| e.get(key).map(|kv| json!({ key: kv })))
                            .collect();
                        patch.insert(format!("$setElementOrder/{k}"), Value::Array(order));
                    }
                } else if cv != Some(mv) {
                    patch.insert(k.clone(), mv.clone());
                }
            }
            _ => {
                if cv != Some(mv) {
                    patch.insert(k.clone(), mv.clone());
                }
            }
        }
    }
    for k in o.keys() {
        if !m.contains_key(k) && c.contains_key(k) {
            patch.insert(k.clone(), Value::Null);
        }
    }
    patch
}

fn keyed_list(
    original: &[Value],
    modified: &[Value],
    current: &[Value],
    key: &str,
    path: &mut Vec<String>,
) -> Vec<Value> {
    let find = |list: &[Value], kv: &Value| list.iter().find(|e| e.get(key) == Some(kv)).cloned();
    let mut items = Vec::new();
    for me in modified {
        let Some(kv) = me.get(key) else {
            items.push(me.clone());
            continue;
        };
        match find(current, kv) {
            Some(ce) => {
                let oe = find(original, kv);
                let mut sub = three_way(oe.as_ref(), me, Some(&ce), path);
                if !sub.is_empty() {
                    sub.insert(key.to_string(), kv.clone());
                    items.push(Value::Object(sub));
                }
            }
            None => items.push(me.clone()),
        }
    }
    for oe in original {
        let Some(kv) = oe.get(key) else { continue };
        if find(modified, kv).is_none() && find(current, kv).is_some() {
            items.push(json!({ key: kv, "$patch": "delete" }));
        }
    }
    items
}

/// The object with its last-applied-configuration annotation (and that annotation's text).
pub fn with_last_applied(obj: &Value) -> (Value, String) {
    let mut clean = obj.clone();
    if let Some(a) = clean
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        a.remove(LAST_APPLIED);
    }
    // kubectl leaves an empty annotations map behind in the recorded configuration
    if let Some(m) = clean.get_mut("metadata").and_then(Value::as_object_mut) {
        m.entry("annotations").or_insert_with(|| json!({}));
    }
    let text = format!("{}\n", sorted(&clean));
    let mut with = clean;
    if let Some(meta) = with.get_mut("metadata").and_then(Value::as_object_mut) {
        let ann = meta.entry("annotations").or_insert_with(|| json!({}));
        if let Some(a) = ann.as_object_mut() {
            a.insert(LAST_APPLIED.into(), json!(text));
        }
    }
    (with, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_way_patch() {
        let original = json!({"spec": {"replicas": 1, "paused": false, "template": {"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}}}});
        let modified = json!({"spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "a", "image": "z"}]}}}});
        let current = json!({"spec": {"replicas": 1, "paused": false, "progressDeadlineSeconds": 600, "template": {"spec": {"containers": [{"name": "a", "image": "x", "imagePullPolicy": "Always"}, {"name": "b", "image": "y"}]}}}});
        let p = three_way(Some(&original), &modified, Some(&current), &mut Vec::new());
        assert_eq!(
            Value::Object(p),
            json!({"spec": {"replicas": 2, "paused": null, "template": {"spec": {
                "containers": [{"name": "a", "image": "z"}, {"name": "b", "$patch": "delete"}],
                "$setElementOrder/containers": [{"name": "a"}]}}}})
        );
    }
}
