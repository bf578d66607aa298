//! Strategic merge patch: lists merge by their patch merge keys, with the `$patch`, `$setElementOrder`, `$retainKeys` and `$deleteFromPrimitiveList` directives.

use serde_json::{Map, Value};

use super::schema::{child, is_atomic, list_kind, ListKind, Ty};
use super::PatchError;

const PATCH: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ORDER: &str = "$setElementOrder/";
const DELETE_PRIMITIVE: &str = "$deleteFromPrimitiveList/";

/// Removes every `$`-directive from a value that is being inserted as is.
fn strip_directives(v: &Value) -> Option<Value> {
    match v {
        Value::Object(m) => {
            if m.get(PATCH).and_then(Value::as_str) == Some("delete") {
                return None;
            }
            let mut out = Map::new();
            for (k, val) in m {
                if k.starts_with('$') {
                    continue;
                }
                if let Some(s) = strip_directives(val) {
                    out.insert(k.clone(), s);
                }
            }
            Some(Value::Object(out))
        }
        Value::Array(a) => Some(Value::Array(
            a.iter()
                .filter(|e| {
                    !(e.get(PATCH).is_some() && e.as_object().is_some_and(|m| m.len() == 1))
                })
                .filter_map(strip_directives)
                .collect(),
        )),
        other => Some(other.clone()),
    }
}

/// Merges `patch` into `orig` for type `ty`; `None` means the map is deleted.
pub fn merge_map(
    orig: &Map<String, Value>,
    patch: &Map<String, Value>,
    ty: Ty,
) -> Result<Option<Map<String, Value>>, PatchError> {
    match patch.get(PATCH).and_then(Value::as_str) {
        Some("delete") => return Ok(None),
        Some("replace") => {
            return Ok(strip_directives(&Value::Object(patch.clone()))
                .and_then(|v| v.as_object().cloned()));
        }
        Some("merge") | None => {}
        Some(other) => {
            return Err(PatchError::Invalid(format!(
                "Unknown patch type: {other} in map: {}",
                Value::Object(patch.clone())
            )))
        }
    }
    let mut out = orig.clone();
    for (k, pv) in patch {
        if !k.starts_with('$') {
            merge_field(&mut out, k, pv, patch, ty)?;
        }
    }
    apply_list_directives(&mut out, patch, ty);
    if let Some(Value::Array(retain)) = patch.get(RETAIN_KEYS) {
        let keep: Vec<&str> = retain.iter().filter_map(Value::as_str).collect();
        out.retain(|k, _| keep.contains(&k.as_str()));
    }
    Ok(Some(out))
}

/// Merges the patch's field `k` (value `pv`) into `out`; `patch` is the whole patch map
/// (for the field's `$setElementOrder`).
fn merge_field(
    out: &mut Map<String, Value>,
    k: &str,
    pv: &Value,
    patch: &Map<String, Value>,
    ty: Ty,
) -> Result<(), PatchError> {
    match pv {
        Value::Null => {
            out.remove(k);
        }
        Value::Object(pm) => {
            let cty = child(ty, k);
            let merged = match out.get(k) {
                Some(Value::Object(om)) if !is_atomic(cty) => {
                    merge_map(om, pm, cty)?.map(Value::Object)
                }
                _ => strip_directives(pv),
            };
            match merged {
                Some(v) => {
                    out.insert(k.to_string(), v);
                }
                None => {
                    out.remove(k);
                }
            }
        }
        Value::Array(pa) => {
            let orig_list = out
                .get(k)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let order = patch
                .get(&format!("{SET_ORDER}{k}"))
                .and_then(Value::as_array);
            let merged = merge_list(&orig_list, pa, list_kind(ty, k), order)?;
            out.insert(k.to_string(), Value::Array(merged));
        }
        scalar => {
            out.insert(k.to_string(), scalar.clone());
        }
    }
    Ok(())
}

/// `$deleteFromPrimitiveList/…`, and `$setElementOrder/…` for lists not otherwise patched.
fn apply_list_directives(out: &mut Map<String, Value>, patch: &Map<String, Value>, ty: Ty) {
    for (k, pv) in patch {
        if let Some(field) = k.strip_prefix(DELETE_PRIMITIVE) {
            let del = pv.as_array().cloned().unwrap_or_default();
            if let Some(Value::Array(list)) = out.get_mut(field) {
                list.retain(|e| !del.contains(e));
            }
        } else if let Some(field) = k.strip_prefix(SET_ORDER) {
            if patch.contains_key(field) {
                continue;
            }
            if let (Some(Value::Array(list)), Some(order)) = (out.get_mut(field), pv.as_array()) {
                let keys = match list_kind(ty, field) {
                    ListKind::Map(keys, _) => Some(keys[0]),
                    _ => None,
                };
                sort_by_order(list, order, keys);
            }
        }
    }
}

fn key_of<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_object().and_then(|m| m.get(key))
}

fn sort_by_order(list: &mut [Value], order: &[Value], key: Option<&str>) {
    let pos = |v: &Value| -> usize {
        let probe = match key {
            Some(k) => key_of(v, k),
            None => Some(v),
        };
        order
            .iter()
            .position(|o| match key {
                Some(k) => probe.is_some() && key_of(o, k) == probe,
                None => Some(o) == probe,
            })
            .unwrap_or(usize::MAX)
    };
    list.sort_by_key(|v| pos(v));
}

fn merge_list(
    orig: &[Value],
    patch: &[Value],
    kind: ListKind,
    order: Option<&Vec<Value>>,
) -> Result<Vec<Value>, PatchError> {
    // `{"$patch": "replace"}` as an element replaces the whole list.
    let replace = patch
        .iter()
        .any(|e| e.get(PATCH).and_then(Value::as_str) == Some("replace"));
    if replace {
        return Ok(patch
            .iter()
            .filter(|e| e.get(PATCH).is_none())
            .filter_map(strip_directives)
            .collect());
    }
    match kind {
        ListKind::Atomic => Ok(patch.iter().filter_map(strip_directives).collect()),
        ListKind::Set => {
            let mut out = orig.to_vec();
            for v in patch {
                if !out.contains(v) {
                    out.push(v.clone());
                }
            }
            if let Some(order) = order {
                sort_by_order(&mut out, order, None);
            }
            Ok(out)
        }
        ListKind::Map(keys, ety) => {
            let key = keys[0];
            let mut out = orig.to_vec();
            for pe in patch {
                let Some(pm) = pe.as_object() else {
                    return Err(PatchError::Invalid(format!(
                        "expected a map in a list merged by {key:?}, got {pe}"
                    )));
                };
                let Some(kv) = pm.get(key) else {
                    return Err(PatchError::Invalid(format!(
                        "map: {pe} does not contain declared merge key: {key}"
                    )));
                };
                let idx = out.iter().position(|o| key_of(o, key) == Some(kv));
                let delete = pm.get(PATCH).and_then(Value::as_str) == Some("delete");
                match (idx, delete) {
                    (Some(_), true) => out.retain(|o| key_of(o, key) != Some(kv)),
                    (None, true) => {}
                    (Some(i), false) => {
                        let om = out[i].as_object().cloned().unwrap_or_default();
                        match merge_map(&om, pm, ety)? {
                            Some(m) => out[i] = Value::Object(m),
                            None => {
                                out.remove(i);
                            }
                        }
                    }
                    (None, false) => {
                        if let Some(v) = strip_directives(pe) {
                            out.push(v);
                        }
                    }
                }
            }
            if let Some(order) = order {
                sort_by_order(&mut out, order, Some(key));
            }
            Ok(out)
        }
    }
}
