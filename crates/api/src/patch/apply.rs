//! Server-side apply: merges an applied configuration into the live object, keeps `metadata.managedFields`, detects conflicts between managers.

use serde_json::{json, Map, Value};

use super::fieldset::{format_path, remove_at, value_at, FieldPath, FieldSet};
use super::schema::{child, is_atomic, list_kind, root, ListKind, Ty};
use super::PatchError;
use crate::registry::ResourceInfo;

/// One `managedFields` entry, parsed.
#[derive(Debug, Clone)]
struct Entry {
    manager: String,
    operation: String,
    api_version: String,
    time: Option<Value>,
    subresource: Option<String>,
    set: FieldSet,
}

impl Entry {
    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("manager".into(), json!(self.manager));
        m.insert("operation".into(), json!(self.operation));
        m.insert("apiVersion".into(), json!(self.api_version));
        if let Some(t) = &self.time {
            m.insert("time".into(), t.clone());
        }
        m.insert("fieldsType".into(), json!("FieldsV1"));
        m.insert("fieldsV1".into(), self.set.to_json());
        if let Some(s) = &self.subresource {
            m.insert("subresource".into(), json!(s));
        }
        Value::Object(m)
    }
}

fn entries(obj: &Value) -> Vec<Entry> {
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|e| Entry {
                    manager: e
                        .get("manager")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    operation: e
                        .get("operation")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    api_version: e
                        .get("apiVersion")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    time: e.get("time").cloned(),
                    subresource: e
                        .get("subresource")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    set: FieldSet::from_json(e.get("fieldsV1").unwrap_or(&Value::Null)),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn store_entries(obj: &mut Value, list: Vec<Entry>) {
    let list: Vec<Value> = list
        .into_iter()
        .filter(|e| !e.set.is_empty())
        .map(|e| e.to_json())
        .collect();
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        if list.is_empty() {
            meta.remove("managedFields");
        } else {
            meta.insert("managedFields".into(), Value::Array(list));
        }
    }
}

/// Fields no manager owns: identity and system metadata (and status when it has its own endpoint).
fn strip(res: &ResourceInfo, set: &mut FieldSet) {
    for f in ["f:apiVersion", "f:kind"] {
        set.remove(&[f.to_string()]);
    }
    for f in [
        "f:name",
        "f:namespace",
        "f:uid",
        "f:resourceVersion",
        "f:generation",
        "f:creationTimestamp",
        "f:managedFields",
        "f:selfLink",
        "f:deletionTimestamp",
        "f:deletionGracePeriodSeconds",
    ] {
        set.remove(&["f:metadata".to_string(), f.to_string()]);
    }
    if res.has_subresource("status") {
        set.remove(&["f:status".to_string()]);
    }
}

fn now_string() -> Value {
    json!(chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// Merges `applied` into `live` for type `ty` (maps by key, keyed lists by their keys, sets by value).
fn merge(live: &mut Value, applied: &Value, ty: Ty) {
    let (Some(lm), Some(am)) = (live.as_object_mut(), applied.as_object()) else {
        *live = applied.clone();
        return;
    };
    for (k, av) in am {
        let cty = child(ty, k);
        match (lm.get_mut(k), av) {
            (Some(lv @ Value::Object(_)), Value::Object(_)) if !is_atomic(cty) => {
                merge(lv, av, cty)
            }
            (Some(Value::Array(la)), Value::Array(aa)) => match list_kind(ty, k) {
                ListKind::Atomic => *la = aa.clone(),
                ListKind::Set => {
                    for v in aa {
                        if !la.contains(v) {
                            la.push(v.clone());
                        }
                    }
                }
                ListKind::Map(keys, ety) => {
                    for item in aa {
                        let ke = super::fieldset::key_element(item, keys);
                        let probe = value_at(&Value::Array(la.clone()), &[ke]).cloned();
                        match probe.and_then(|p| la.iter_mut().find(|i| **i == p)) {
                            Some(existing) => merge(existing, item, ety),
                            None => la.push(item.clone()),
                        }
                    }
                }
            },
            _ => {
                lm.insert(k.clone(), av.clone());
            }
        }
    }
}

/// The applied configuration as it is merged: an object, without status (when that is a
/// subresource) and without `managedFields`.
fn prepare_applied(res: &ResourceInfo, applied: &Value) -> Result<Value, PatchError> {
    if !applied.is_object() {
        return Err(PatchError::Invalid(
            "apply patch must be a JSON object".into(),
        ));
    }
    let mut applied = applied.clone();
    if let Some(m) = applied.as_object_mut() {
        if res.has_subresource("status") {
            m.remove("status");
        }
        if let Some(meta) = m.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("managedFields");
        }
    }
    Ok(applied)
}

/// Whether `e` is `manager`'s own Apply entry on the main resource.
fn is_mine(e: &Entry, manager: &str) -> bool {
    e.manager == manager && e.operation == "Apply" && e.subresource.is_none()
}

/// Upstream's conflict text for a field another manager owns.
fn conflict_message(e: &Entry, path: &FieldPath) -> String {
    let using = if e.api_version.is_empty() {
        String::new()
    } else {
        format!(" using {}", e.api_version)
    };
    format!(
        "conflict with {:?}{using}: {}",
        e.manager,
        format_path(path)
    )
}

/// Leaves of `new_set` that other managers own with a different live value: the messages,
/// and (manager index, path) for each ownership a forced apply takes over.
fn find_conflicts(
    new_set: &FieldSet,
    applied: &Value,
    base: &Value,
    managers: &[Entry],
    manager: &str,
) -> (Vec<String>, Vec<(usize, FieldPath)>) {
    let mut conflicts = Vec::new();
    let mut taken = Vec::new();
    for path in new_set.leaves() {
        let want = value_at(applied, &path);
        let have = value_at(base, &path);
        for (i, e) in managers.iter().enumerate() {
            if is_mine(e, manager) || e.subresource.is_some() || !e.set.contains(&path, false) {
                continue;
            }
            let differs = match (want, have) {
                (Some(w), Some(h)) => !same_leaf(w, h),
                (None, None) => false,
                _ => true,
            };
            if differs {
                conflicts.push(conflict_message(e, &path));
                taken.push((i, path.clone()));
            }
        }
    }
    (conflicts, taken)
}

/// Applies `applied` as `manager`; returns the new object with updated `managedFields`.
///
/// Conflicts (fields another manager owns with a different value) fail with [`PatchError::Conflict`] unless `force`,
/// in which case ownership moves to `manager`. Fields this manager applied before and omits now are removed
/// when no other manager owns them.
pub fn server_side_apply(
    res: &ResourceInfo,
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
) -> Result<Value, PatchError> {
    let applied = prepare_applied(res, applied)?;
    let ty = root(res);
    let mut new_set = FieldSet::from_object(&applied, ty);
    strip(res, &mut new_set);

    let base = live.cloned().unwrap_or_else(|| json!({}));
    let mut managers = entries(&base);
    let prev_set = managers
        .iter()
        .find(|e| is_mine(e, manager))
        .map(|e| e.set.clone())
        .unwrap_or_default();

    let (conflicts, taken) = find_conflicts(&new_set, &applied, &base, &managers, manager);
    if !conflicts.is_empty() && !force {
        return Err(PatchError::Conflict { conflicts });
    }
    for (i, path) in taken {
        managers[i].set.remove(&path);
    }

    let mut result = base.clone();
    merge(&mut result, &applied, ty);

    // fields this manager dropped from its configuration
    for path in prev_set.difference_roots(&new_set) {
        let owned_by_other = managers
            .iter()
            .any(|e| !is_mine(e, manager) && e.set.contains(&path, true));
        if !owned_by_other {
            remove_at(&mut result, &path);
        }
    }

    managers.retain(|e| !is_mine(e, manager));
    managers.push(Entry {
        manager: manager.to_string(),
        operation: "Apply".into(),
        api_version: res.api_version(),
        time: Some(now_string()),
        subresource: None,
        set: new_set,
    });
    store_entries(&mut result, managers);
    Ok(result)
}

/// Leaves compare by value; for keyed items and containers only presence matters.
fn same_leaf(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(_), Value::Object(_)) => true,
        _ => a == b,
    }
}

/// Records a non-apply write (`operation: Update`) by `manager`: it takes ownership of every field it changed.
/// `old` is None on create. `subresource` is e.g. Some("status") for status writes.
pub fn update_managed_fields(
    res: &ResourceInfo,
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    subresource: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) {
    let ty = root(res);
    let new_fields = update_fields(res, new, ty, subresource);
    let mut managers = old.map(entries).unwrap_or_else(|| entries(new));
    let changed: Vec<FieldPath> = match old {
        None => new_fields.leaves(),
        Some(o) => new_fields
            .leaves()
            .into_iter()
            .filter(|p| match (value_at(new, p), value_at(o, p)) {
                (Some(a), Some(b)) => !same_leaf(a, b),
                _ => true,
            })
            .collect(),
    };
    if changed.is_empty() && old.is_some() {
        store_entries(new, managers);
        return;
    }
    let is_me = |e: &Entry| {
        e.manager == manager && e.operation == "Update" && e.subresource.as_deref() == subresource
    };
    for e in managers.iter_mut().filter(|e| !is_me(e)) {
        for p in &changed {
            e.set.remove(p);
        }
    }
    let idx = match managers.iter().position(is_me) {
        Some(i) => i,
        None => {
            managers.push(Entry {
                manager: manager.to_string(),
                operation: "Update".into(),
                api_version: res.api_version(),
                time: None,
                subresource: subresource.map(str::to_string),
                set: FieldSet::default(),
            });
            managers.len() - 1
        }
    };
    for p in &changed {
        managers[idx].set.insert(p);
        // list items carry a `.` marker for the item itself
        mark_items(&mut managers[idx].set, p);
    }
    managers[idx].time = Some(json!(now.format("%Y-%m-%dT%H:%M:%SZ").to_string()));
    // drop fields the object no longer has
    for e in managers.iter_mut() {
        for p in e.set.leaves() {
            if value_at(new, &p).is_none() {
                e.set.remove(&p);
            }
        }
    }
    store_entries(new, managers);
}

fn mark_items(set: &mut FieldSet, path: &[String]) {
    for i in 0..path.len() {
        if path[i].starts_with("k:") {
            let mut p: Vec<String> = path[..=i].to_vec();
            p.push(".".into());
            set.insert(&p);
        }
    }
}

fn update_fields(res: &ResourceInfo, new: &Value, ty: Ty, subresource: Option<&str>) -> FieldSet {
    let mut all = FieldSet::from_object(new, ty);
    if subresource == Some("status") {
        // a status write owns only status
        let mut s = FieldSet::default();
        if let Some(st) = all.0.remove("f:status") {
            s.0.insert("f:status".into(), st);
        }
        s
    } else {
        strip(res, &mut all);
        all
    }
}
