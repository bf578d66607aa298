//! Upstream-compatible validation of objects on create and update: one [`FieldCause`] per bad field, with upstream's reasons and messages.

mod errors;
mod meta;
pub mod names;
mod pod;
mod resources;
mod strict;
mod update;

use serde_json::Value;

use crate::registry::ResourceInfo;

pub use errors::{invalid_message, FieldCause};
pub use strict::strict_unknown_fields;

/// Validates an object about to be created (after defaulting).
pub fn validate_create(res: &ResourceInfo, obj: &Value) -> Vec<FieldCause> {
    let mut errs = meta::validate_object_meta(res, obj);
    errs.extend(resources::validate_kind(res, obj));
    errs
}

/// Validates an update of `old` to `new` (after defaulting): the create rules plus immutable fields.
pub fn validate_update(res: &ResourceInfo, new: &Value, old: &Value) -> Vec<FieldCause> {
    let mut errs = meta::validate_object_meta(res, new);
    errs.extend(meta::validate_object_meta_update(new, old));
    errs.extend(resources::validate_kind(res, new));
    errs.extend(update::validate_kind_update(res, new, old));
    errs
}

#[cfg(test)]
mod tests;
