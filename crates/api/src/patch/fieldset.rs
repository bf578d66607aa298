//! Field sets in the `FieldsV1` format of `metadata.managedFields` (`f:name`, `k:{"name":"c"}`, `v:"x"`, `.`).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::schema::{child, is_atomic, list_kind, ListKind, Ty};

/// A tree of path elements; a node with no children is a leaf field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet(pub BTreeMap<String, FieldSet>);

/// One path: its elements from the root.
pub type FieldPath = Vec<String>;

/// The element naming the item of a keyed list.
pub fn key_element(item: &Value, keys: &[&str]) -> String {
    let mut m = Map::new();
    for k in keys {
        match item.get(*k) {
            Some(v) => {
                m.insert((*k).to_string(), v.clone());
            }
            None if *k == "protocol" => {
                m.insert("protocol".into(), Value::from("TCP"));
            }
            None => {}
        }
    }
    format!("k:{}", Value::Object(m))
}

impl FieldSet {
    /// Parses a `fieldsV1` JSON value.
    pub fn from_json(v: &Value) -> FieldSet {
        let mut out = BTreeMap::new();
        if let Some(m) = v.as_object() {
            for (k, c) in m {
                out.insert(k.clone(), FieldSet::from_json(c));
            }
        }
        FieldSet(out)
    }

    /// The `fieldsV1` JSON value.
    pub fn to_json(&self) -> Value {
        let m: Map<String, Value> = self
            .0
            .iter()
            .map(|(k, v)| (k.clone(), v.to_json()))
            .collect();
        Value::Object(m)
    }

    /// Whether no field is in the set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every field of an object (upstream's `ToFieldSet`), typed by `ty`.
    pub fn from_object(v: &Value, ty: Ty) -> FieldSet {
        let mut out = BTreeMap::new();
        let Some(m) = v.as_object() else {
            return FieldSet(out);
        };
        for (k, cv) in m {
            let cty = child(ty, k);
            let node = match cv {
                Value::Object(_) if !is_atomic(cty) => FieldSet::from_object(cv, cty),
                Value::Array(items) => match list_kind(ty, k) {
                    ListKind::Atomic => FieldSet::default(),
                    ListKind::Set => FieldSet(
                        items
                            .iter()
                            .map(|i| (format!("v:{i}"), FieldSet::default()))
                            .collect(),
                    ),
                    ListKind::Map(keys, ety) => FieldSet(
                        items
                            .iter()
                            .map(|i| {
                                let mut inner = FieldSet::from_object(i, ety);
                                inner.0.insert(".".into(), FieldSet::default());
                                (key_element(i, keys), inner)
                            })
                            .collect(),
                    ),
                },
                _ => FieldSet::default(),
            };
            out.insert(format!("f:{k}"), node);
        }
        FieldSet(out)
    }

    /// All paths to nodes that are fields themselves (leaves and `.` markers, reported as their parent).
    pub fn leaves(&self) -> Vec<FieldPath> {
        let mut out = Vec::new();
        self.collect_leaves(&mut Vec::new(), &mut out);
        out
    }

    fn collect_leaves(&self, prefix: &mut FieldPath, out: &mut Vec<FieldPath>) {
        for (k, c) in &self.0 {
            if k == "." {
                out.push(prefix.clone());
                continue;
            }
            prefix.push(k.clone());
            if c.is_empty() {
                out.push(prefix.clone());
            } else {
                c.collect_leaves(prefix, out);
            }
            prefix.pop();
        }
    }

    /// Whether `path` is in the set (as a leaf, a `.` marker, or an inner node when `prefix_ok`).
    pub fn contains(&self, path: &[String], prefix_ok: bool) -> bool {
        let mut cur = self;
        for e in path {
            match cur.0.get(e) {
                Some(c) => cur = c,
                None => return false,
            }
        }
        prefix_ok || cur.is_empty() || cur.0.contains_key(".")
    }

    /// Removes `path` (and everything under it); prunes emptied parents.
    pub fn remove(&mut self, path: &[String]) {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        if rest.is_empty() {
            self.0.remove(first);
            return;
        }
        if let Some(c) = self.0.get_mut(first) {
            c.remove(rest);
            if c.is_empty() {
                self.0.remove(first);
            }
        }
    }

    /// Adds `path` as a leaf.
    pub fn insert(&mut self, path: &[String]) {
        let mut cur = self;
        for e in path {
            cur = cur.0.entry(e.clone()).or_default();
        }
    }

    /// Top-most paths in `self` that are not in `other`.
    pub fn difference_roots(&self, other: &FieldSet) -> Vec<FieldPath> {
        let mut out = Vec::new();
        self.diff_into(other, &mut Vec::new(), &mut out);
        out
    }

    fn diff_into(&self, other: &FieldSet, prefix: &mut FieldPath, out: &mut Vec<FieldPath>) {
        for (k, c) in &self.0 {
            if k == "." {
                continue;
            }
            prefix.push(k.clone());
            match other.0.get(k) {
                None => out.push(prefix.clone()),
                Some(oc) => c.diff_into(oc, prefix, out),
            }
            prefix.pop();
        }
    }
}

/// Formats a path the way upstream prints conflicts: `.spec.containers[name="web"].image`.
pub fn format_path(path: &[String]) -> String {
    let mut s = String::new();
    for e in path {
        if let Some(f) = e.strip_prefix("f:") {
            s.push('.');
            s.push_str(f);
        } else if let Some(k) = e.strip_prefix("k:") {
            let parts: Vec<String> = serde_json::from_str::<Map<String, Value>>(k)
                .map(|m| m.iter().map(|(k, v)| format!("{k}={v}")).collect())
                .unwrap_or_default();
            s.push_str(&format!("[{}]", parts.join(",")));
        } else if let Some(v) = e.strip_prefix("v:") {
            s.push_str(&format!("[={v}]"));
        }
    }
    s
}

/// The value at a set path inside an object, if present.
pub fn value_at<'a>(obj: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = obj;
    for e in path {
        if let Some(f) = e.strip_prefix("f:") {
            cur = cur.as_object()?.get(f)?;
        } else if let Some(k) = e.strip_prefix("k:") {
            let want: Map<String, Value> = serde_json::from_str(k).ok()?;
            cur = cur.as_array()?.iter().find(|item| {
                want.iter().all(|(wk, wv)| {
                    item.get(wk) == Some(wv)
                        || (wk == "protocol" && item.get(wk).is_none() && wv == "TCP")
                })
            })?;
        } else if let Some(v) = e.strip_prefix("v:") {
            let want: Value = serde_json::from_str(v).ok()?;
            cur = cur.as_array()?.iter().find(|item| **item == want)?;
        }
    }
    Some(cur)
}

/// Removes the value at a set path from an object; returns whether something was removed.
pub fn remove_at(obj: &mut Value, path: &[String]) -> bool {
    let Some((last, parent)) = path.split_last() else {
        return false;
    };
    let mut cur = obj;
    for e in parent {
        let next = if let Some(f) = e.strip_prefix("f:") {
            cur.as_object_mut().and_then(|m| m.get_mut(f))
        } else if e.starts_with("k:") || e.starts_with("v:") {
            let Some(probe) = value_at(cur, std::slice::from_ref(e)).cloned() else {
                return false;
            };
            cur.as_array_mut()
                .and_then(|a| a.iter_mut().find(|i| **i == probe))
        } else {
            None
        };
        match next {
            Some(n) => cur = n,
            None => return false,
        }
    }
    if let Some(f) = last.strip_prefix("f:") {
        return cur.as_object_mut().and_then(|m| m.remove(f)).is_some();
    }
    let Some(probe) = value_at(cur, std::slice::from_ref(last)).cloned() else {
        return false;
    };
    match cur.as_array_mut() {
        Some(a) => {
            let before = a.len();
            a.retain(|i| *i != probe);
            a.len() != before
        }
        None => false,
    }
}
