//! Patching: JSON merge patch (RFC 7386), strategic merge patch with built-in merge keys, and server-side apply.

mod apply;
mod fieldset;
mod schema;
mod strategic;

use serde_json::Value;

use crate::registry::ResourceInfo;

pub use apply::{server_side_apply, update_managed_fields};
pub use fieldset::{format_path, FieldSet};
pub use schema::{list_kind, ListKind, Ty};

/// A patch could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// Server-side apply found fields owned by other managers; each line is
    /// `conflict with "mgr" using apps/v1: .spec.replicas`.
    #[error("Apply failed with {} conflict{}: {}", conflicts.len(), if conflicts.len() == 1 { "" } else { "s" }, conflicts.join("\n"))]
    Conflict {
        /// One line per conflicting field.
        conflicts: Vec<String>,
    },
    /// The patch is malformed.
    #[error("{0}")]
    Invalid(String),
}

/// Applies an RFC 7386 JSON merge patch to `target` in place.
pub fn json_merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(pm) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    let Value::Object(tm) = target else {
        return;
    };
    for (k, v) in pm {
        if v.is_null() {
            tm.remove(k);
        } else {
            let slot = tm.entry(k.clone()).or_insert(Value::Null);
            json_merge_patch(slot, v);
        }
    }
}

/// Applies a strategic merge patch to `original` for the resource's kind, returning the patched object.
pub fn strategic_merge_patch(
    res: &ResourceInfo,
    original: &Value,
    patch: &Value,
) -> Result<Value, PatchError> {
    let Some(pm) = patch.as_object() else {
        return Err(PatchError::Invalid(
            "strategic merge patch must be a JSON object".into(),
        ));
    };
    let empty = serde_json::Map::new();
    let om = original.as_object().unwrap_or(&empty);
    match strategic::merge_map(om, pm, schema::root(res))? {
        Some(m) => Ok(Value::Object(m)),
        None => Ok(Value::Object(serde_json::Map::new())),
    }
}

#[cfg(test)]
mod tests;
