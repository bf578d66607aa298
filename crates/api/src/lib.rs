//! skiff-api: the resource registry and the pure Kubernetes rules every component shares —
//! defaulting, validation, Table printing, label/field selectors, patching, quantities, pod
//! resource requests, QoS, taints and tolerations, name generation — no I/O. Rules the API
//! server applies to raw objects take `serde_json::Value`; rules components apply to typed
//! objects take `k8s-openapi` types (most have both entry points).

pub mod defaults;
pub mod duration;
pub mod json;
pub mod names;
pub mod owner;
pub mod patch;
pub mod protobuf;
pub mod qos;
pub mod quantity;
pub mod registry;
pub mod resources;
pub mod selector;
pub mod table;
pub mod taints;
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
