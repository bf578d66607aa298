//! skiff-api: the resource registry and the pure API machinery the apiserver uses — defaulting,
//! validation, Table printing, label/field selectors and patching — all on `serde_json::Value`, no I/O.

pub mod defaults;
pub mod json;
pub mod patch;
pub mod protobuf;
pub mod quantity;
pub mod registry;
pub mod selector;
pub mod table;
pub mod validation;

pub use defaults::apply_defaults;
pub use patch::{
    json_merge_patch, server_side_apply, strategic_merge_patch, update_managed_fields, PatchError,
};
pub use protobuf::{decode_protobuf_object, is_protobuf_content_type, ProtobufError};
pub use registry::{all_resources, find_kind, find_resource, ResourceInfo};
pub use selector::{FieldSelector, LabelSelector, SelectorError};
pub use table::{cells, columns, Column};
pub use validation::{
    invalid_message, strict_unknown_fields, validate_create, validate_update, FieldCause,
};
