//! Object plumbing between the store and the wire: storage keys, resourceVersion
//! injection, metadata accessors.

use crate::resources::ResourceInfo;
use serde_json::{Map, Value};
use skiff_store::KeyValue;

/// `/registry/<group|core>/<plural>/` — the prefix of every object of a resource.
pub fn resource_prefix(res: &ResourceInfo) -> String {
    let g = if res.group.is_empty() {
        "core"
    } else {
        res.group
    };
    format!("/registry/{g}/{}/", res.plural)
}

/// The listing prefix for a namespace (or all of them when `None`).
pub fn list_prefix(res: &ResourceInfo, ns: Option<&str>) -> String {
    match ns {
        Some(ns) if res.namespaced => format!("{}{ns}/", resource_prefix(res)),
        _ => resource_prefix(res),
    }
}

/// The key of one object.
pub fn object_key(res: &ResourceInfo, ns: Option<&str>, name: &str) -> String {
    match ns {
        Some(ns) if res.namespaced => format!("{}{ns}/{name}", resource_prefix(res)),
        _ => format!("{}{name}", resource_prefix(res)),
    }
}

/// Parses a stored value and sets `metadata.resourceVersion` from the revision.
pub fn decode(kv: &KeyValue) -> Result<Value, serde_json::Error> {
    let mut v: Value = serde_json::from_slice(&kv.value)?;
    set_rv(&mut v, kv.mod_revision);
    Ok(v)
}

/// Like [`decode`] but without `metadata.managedFields`: for selectors and Table
/// cells, which never read them (they are the bulk of a small object's tree).
pub fn decode_lean(kv: &KeyValue) -> Result<Value, serde_json::Error> {
    let mut v = parse_lean(&kv.value)?;
    set_rv(&mut v, kv.mod_revision);
    Ok(v)
}

/// Parses object JSON without `metadata.managedFields`.
pub fn parse_lean(raw: &[u8]) -> Result<Value, serde_json::Error> {
    Ok(serde_json::from_slice::<Lean>(raw)?.0)
}

/// An object decoded without `metadata.managedFields`.
struct Lean(Value);

impl<'de> serde::Deserialize<'de> for Lean {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Lean, D::Error> {
        d.deserialize_map(SkipVisitor { top: true }).map(Lean)
    }
}

/// Builds a map, skipping `managedFields` inside the top-level `metadata`.
struct SkipVisitor {
    top: bool,
}

struct MetaSeed;

impl<'de> serde::de::DeserializeSeed<'de> for MetaSeed {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(SkipVisitor { top: false })
    }
}

impl<'de> serde::de::Visitor<'de> for SkipVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(k) = m.next_key::<String>()? {
            if self.top && k == "metadata" {
                let v = m.next_value_seed(MetaSeed)?;
                out.insert(k, v);
            } else if !self.top && k == "managedFields" {
                m.next_value::<serde::de::IgnoredAny>()?;
            } else {
                let v = m.next_value::<Value>()?;
                out.insert(k, v);
            }
        }
        Ok(Value::Object(out))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}

/// Serializes an object for storage (without its resourceVersion).
pub fn encode(obj: &Value) -> Vec<u8> {
    let mut o = obj.clone();
    if let Some(m) = o.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("resourceVersion");
    }
    serde_json::to_vec(&o).unwrap_or_default()
}

/// Sets `metadata.resourceVersion`.
pub fn set_rv(obj: &mut Value, rev: i64) {
    if let Some(m) = meta_mut(obj) {
        m.insert("resourceVersion".into(), Value::String(rev.to_string()));
    }
}

/// `metadata` as a mutable map, created when absent.
pub fn meta_mut(obj: &mut Value) -> Option<&mut Map<String, Value>> {
    let o = obj.as_object_mut()?;
    let m = o
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !m.is_object() {
        *m = Value::Object(Map::new());
    }
    m.as_object_mut()
}

/// A string field of `metadata`.
pub fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    obj.get("metadata")?.get(field)?.as_str()
}

/// `metadata.labels` (an empty map when absent).
pub fn labels(obj: &Value) -> &Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    obj.get("metadata")
        .and_then(|m| m.get("labels"))
        .and_then(Value::as_object)
        .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
}

/// `metadata.finalizers` as strings.
pub fn finalizers(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|f| f.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Writes the stored bytes of an object into `out`, with `"resourceVersion":"rev"`
/// spliced into its top-level `metadata` — no full parse, for fast lists.
pub fn write_with_rv(raw: &[u8], rev: i64, out: &mut Vec<u8>) {
    match top_level_metadata_open(raw) {
        Some(pos) => {
            out.extend_from_slice(&raw[..pos]);
            out.extend_from_slice(b"\"resourceVersion\":\"");
            out.extend_from_slice(rev.to_string().as_bytes());
            out.push(b'"');
            let rest = &raw[pos..];
            let next = rest.iter().position(|b| !b.is_ascii_whitespace());
            if next.map(|i| rest[i] != b'}').unwrap_or(false) {
                out.push(b',');
            }
            out.extend_from_slice(rest);
        }
        None => match serde_json::from_slice::<Value>(raw) {
            Ok(mut v) => {
                set_rv(&mut v, rev);
                out.extend_from_slice(&serde_json::to_vec(&v).unwrap_or_default());
            }
            Err(_) => out.extend_from_slice(b"{}"),
        },
    }
}

/// Writes the top-level `metadata` object of the stored bytes with `resourceVersion`
/// spliced in; false (nothing written) when the bytes have no such object.
pub fn write_metadata_with_rv(raw: &[u8], rev: i64, out: &mut Vec<u8>) -> bool {
    let Some(open) = top_level_metadata_open(raw) else {
        return false;
    };
    let Some(close) = matching_close(raw, open) else {
        return false;
    };
    out.extend_from_slice(b"{\"resourceVersion\":\"");
    out.extend_from_slice(rev.to_string().as_bytes());
    out.push(b'"');
    let body = &raw[open..close];
    if body.iter().any(|b| !b.is_ascii_whitespace()) {
        out.push(b',');
    }
    out.extend_from_slice(body);
    out.push(b'}');
    true
}

/// Index of the `}` closing the object whose body starts at `open`.
fn matching_close(raw: &[u8], open: usize) -> Option<usize> {
    let mut depth = 1usize;
    let mut i = open;
    while i < raw.len() {
        match raw[i] {
            b'"' => {
                i += 1;
                while i < raw.len() && raw[i] != b'"' {
                    if raw[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Index just after the `{` of the top-level `"metadata":{`.
fn top_level_metadata_open(raw: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = 0usize;
    let n = raw.len();
    while i < n {
        match raw[i] {
            b'"' => {
                let start = i;
                i += 1;
                while i < n && raw[i] != b'"' {
                    if raw[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                if depth == 1 && &raw[start..(i + 1).min(n)] == b"\"metadata\"" {
                    let mut j = i + 1;
                    while j < n && (raw[j].is_ascii_whitespace() || raw[j] == b':') {
                        j += 1;
                    }
                    if j < n && raw[j] == b'{' {
                        return Some(j + 1);
                    }
                    return None;
                }
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

/// RFC 3339 timestamp at second precision, as Kubernetes writes `Time`.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splices_rv() {
        let mut out = Vec::new();
        write_with_rv(br#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"},"spec":{"x":{"metadata":{}}}}"#, 7, &mut out);
        let v: Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(v["metadata"]["resourceVersion"], "7");
        assert_eq!(v["metadata"]["name"], "a");
        assert!(v["spec"]["x"]["metadata"].get("resourceVersion").is_none());
        let mut out = Vec::new();
        write_with_rv(br#"{"kind":"A\"metadata\"","metadata":{}}"#, 3, &mut out);
        let v: Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(v["metadata"]["resourceVersion"], "3");
    }

    #[test]
    fn metadata_slice_with_rv() {
        let mut out = Vec::new();
        assert!(write_metadata_with_rv(
            br#"{"kind":"Pod","metadata":{"name":"a","labels":{"x":"}"}},"spec":{}}"#,
            9,
            &mut out
        ));
        let v: Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(v["resourceVersion"], "9");
        assert_eq!(v["labels"]["x"], "}");
        let mut out = Vec::new();
        assert!(write_metadata_with_rv(br#"{"metadata":{}}"#, 2, &mut out));
        assert_eq!(out, br#"{"resourceVersion":"2"}"#);
    }

    #[test]
    fn lean_decode_drops_managed_fields_only() {
        let kv = KeyValue {
            key: "k".into(),
            value: br#"{"metadata":{"name":"a","managedFields":[{"x":1}],"labels":{"l":"v"}},"spec":{"managedFields":1}}"#.to_vec(),
            create_revision: 1,
            mod_revision: 4,
        };
        let v = decode_lean(&kv).expect("lean");
        assert!(v["metadata"].get("managedFields").is_none());
        assert_eq!(v["metadata"]["labels"]["l"], "v");
        assert_eq!(v["metadata"]["resourceVersion"], "4");
        assert_eq!(v["spec"]["managedFields"], 1);
    }
}
