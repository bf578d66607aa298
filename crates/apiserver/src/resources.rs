//! The one seam to the resource registry, defaulting, validation, Table cells,
//! selectors and patch logic of `skiff-api`.

pub use skiff_api::{
    all_resources, apply_defaults, cells, columns, find_resource, json_merge_patch,
    server_side_apply, strategic_merge_patch, strict_unknown_fields, update_managed_fields,
    validate_create, validate_update, FieldCause, FieldSelector, LabelSelector, PatchError,
    ResourceInfo,
};
