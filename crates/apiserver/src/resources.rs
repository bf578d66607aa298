//! The one seam to the resource registry, defaulting, validation, Table cells,
//! selectors and patch logic of `skiff-api`.

pub use crate::fallback::table::{cells, columns};
pub use crate::fallback::{
    all_resources, apply_defaults, find_resource, json_merge_patch, server_side_apply,
    strategic_merge_patch, strict_unknown_fields, validate_create, validate_update, FieldCause,
    FieldSelector, LabelSelector, PatchError, ResourceInfo,
};
