//! Unknown-field detection for `fieldValidation=Strict|Warn`: round-trips the object through the k8s-openapi type and reports keys that did not survive.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::registry::ResourceInfo;
use k8s_openapi::api::{
    apps::v1 as apps, coordination::v1 as coord, core::v1 as core, events::v1 as events,
};

fn round_trip<T: DeserializeOwned + Serialize>(obj: &Value) -> Option<Value> {
    let typed: T = serde_json::from_value(obj.clone()).ok()?;
    serde_json::to_value(typed).ok()
}

fn typed_round_trip(res: &ResourceInfo, obj: &Value) -> Option<Value> {
    match (res.group, res.kind) {
        ("", "Pod") => round_trip::<core::Pod>(obj),
        ("", "Namespace") => round_trip::<core::Namespace>(obj),
        ("", "Node") => round_trip::<core::Node>(obj),
        ("", "Event") => round_trip::<core::Event>(obj),
        ("", "ConfigMap") => round_trip::<core::ConfigMap>(obj),
        ("", "Secret") => round_trip::<core::Secret>(obj),
        ("", "Service") => round_trip::<core::Service>(obj),
        ("", "ServiceAccount") => round_trip::<core::ServiceAccount>(obj),
        ("", "Endpoints") => round_trip::<core::Endpoints>(obj),
        ("", "Binding") => round_trip::<core::Binding>(obj),
        ("apps", "Deployment") => round_trip::<apps::Deployment>(obj),
        ("apps", "ReplicaSet") => round_trip::<apps::ReplicaSet>(obj),
        ("coordination.k8s.io", "Lease") => round_trip::<coord::Lease>(obj),
        ("events.k8s.io", "Event") => round_trip::<events::Event>(obj),
        _ => None,
    }
}

fn walk(orig: &Value, typed: &Value, path: &str, out: &mut Vec<String>) {
    match (orig, typed) {
        (Value::Object(o), Value::Object(t)) => {
            for (k, v) in o {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match t.get(k) {
                    Some(tv) => walk(v, tv, &p, out),
                    None if v.is_null() => {}
                    None => out.push(p),
                }
            }
        }
        (Value::Array(o), Value::Array(t)) => {
            for (i, (ov, tv)) in o.iter().zip(t.iter()).enumerate() {
                walk(ov, tv, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Paths of fields of `obj` that the kind's schema does not define, e.g. `spec.foo` or
/// `spec.containers[0].colour`; upstream reports each as `unknown field "spec.foo"`.
///
/// Objects that do not decode into the typed struct at all (wrong value types) yield no entries here;
/// the decode error is reported elsewhere.
pub fn strict_unknown_fields(res: &ResourceInfo, obj: &Value) -> Vec<String> {
    let Some(typed) = typed_round_trip(res, obj) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    walk(obj, &typed, "", &mut out);
    out
}
