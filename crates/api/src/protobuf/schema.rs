//! The embedded schema: the descriptor set of the served API groups, the Go JSON facts per
//! field, and the lookup from apiVersion + kind to a message descriptor.

use std::collections::HashMap;
use std::sync::OnceLock;

use prost_reflect::{DescriptorPool, FieldDescriptor, MessageDescriptor};

use super::ProtobufError;

static DESCRIPTOR_SET: &[u8] = include_bytes!("../../proto/k8s.pb.bin");
static GO_FIELDS: &str = include_str!("../../proto/go_fields.txt");

/// Package of the meta/v1 kinds every group version also serves (DeleteOptions, Status …).
const META_V1: &str = "k8s.io.apimachinery.pkg.apis.meta.v1";

/// What Go's JSON encoding does with a field, beyond what the descriptor says.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct GoField {
    /// The Go field is a pointer: when present, even a zero value is meaningful.
    pub pointer: bool,
    /// The JSON tag has no `omitempty`: zero values are written.
    pub no_omit: bool,
    /// An embedded struct whose fields JSON flattens into the parent.
    pub inline: bool,
    /// The JSON name, when it differs from the protobuf field name.
    pub json_name: Option<String>,
}

/// The loaded schema.
#[derive(Debug)]
pub(super) struct Schema {
    pool: DescriptorPool,
    go_fields: HashMap<String, GoField>,
}

static SCHEMA: OnceLock<Result<Schema, String>> = OnceLock::new();

impl Schema {
    /// The process-wide schema, loaded on first use.
    pub fn get() -> Result<&'static Schema, ProtobufError> {
        SCHEMA
            .get_or_init(Schema::load)
            .as_ref()
            .map_err(|e| ProtobufError::Schema(e.clone()))
    }

    fn load() -> Result<Schema, String> {
        let pool = DescriptorPool::decode(DESCRIPTOR_SET).map_err(|e| e.to_string())?;
        Ok(Schema {
            pool,
            go_fields: parse_go_fields(GO_FIELDS),
        })
    }

    /// A message by its full protobuf name.
    pub fn message(&self, full_name: &str) -> Option<MessageDescriptor> {
        self.pool.get_message_by_name(full_name)
    }

    /// The message for an object's apiVersion and kind: the group's package
    /// (`apps/v1` → `k8s.io.api.apps.v1`, `v1` → `k8s.io.api.core.v1`), falling back to meta/v1
    /// for the kinds every group version serves.
    pub fn message_for(&self, api_version: &str, kind: &str) -> Option<MessageDescriptor> {
        let (group, version) = match api_version.split_once('/') {
            Some((group, version)) => (group, version),
            None => ("", api_version),
        };
        let short_group = match group {
            "" => "core",
            g => g
                .strip_suffix(".k8s.io")
                .unwrap_or(g)
                .split('.')
                .next()
                .unwrap_or(g),
        };
        let package = if short_group == "meta" {
            META_V1.to_string()
        } else {
            format!("k8s.io.api.{short_group}.{version}")
        };
        self.message(&format!("{package}.{kind}")).or_else(|| {
            (version == "v1")
                .then(|| self.message(&format!("{META_V1}.{kind}")))
                .flatten()
        })
    }

    /// The Go JSON facts of a field (all false when the field has none).
    pub fn go_field(&self, field: &FieldDescriptor) -> Option<&GoField> {
        self.go_fields.get(field.full_name())
    }
}

/// Parses `go_fields.txt`: `package.Message.field flag,flag…` per line, `#` comments.
fn parse_go_fields(text: &str) -> HashMap<String, GoField> {
    let mut out = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, flags)) = line.split_once(' ') else {
            continue;
        };
        let mut field = GoField::default();
        for flag in flags.split(',') {
            match flag {
                "ptr" => field.pointer = true,
                "noomit" => field.no_omit = true,
                "inline" => field.inline = true,
                other => {
                    if let Some(json) = other.strip_prefix("json=") {
                        field.json_name = Some(json.to_string());
                    }
                }
            }
        }
        out.insert(name.to_string(), field);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_go_field_names_a_descriptor_field() {
        let schema = Schema::get().unwrap();
        assert!(schema.go_fields.len() > 500);
        let mut missing: Vec<&String> = schema
            .go_fields
            .keys()
            .filter(|name| {
                let (message, field) = name.rsplit_once('.').unwrap();
                schema
                    .message(message)
                    .and_then(|m| m.get_field_by_name(field))
                    .is_none()
            })
            .collect();
        missing.sort();
        assert!(missing.is_empty(), "{missing:?}");
    }

    #[test]
    fn kinds_resolve_to_their_packages() {
        let schema = Schema::get().unwrap();
        let cases = [
            ("v1", "Pod", "k8s.io.api.core.v1.Pod"),
            ("apps/v1", "Deployment", "k8s.io.api.apps.v1.Deployment"),
            (
                "coordination.k8s.io/v1",
                "Lease",
                "k8s.io.api.coordination.v1.Lease",
            ),
            ("events.k8s.io/v1", "Event", "k8s.io.api.events.v1.Event"),
            ("autoscaling/v1", "Scale", "k8s.io.api.autoscaling.v1.Scale"),
            ("policy/v1", "Eviction", "k8s.io.api.policy.v1.Eviction"),
            (
                "apps/v1",
                "DeleteOptions",
                "k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions",
            ),
            (
                "meta.k8s.io/v1",
                "DeleteOptions",
                "k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions",
            ),
            (
                "authorization.k8s.io/v1",
                "SelfSubjectAccessReview",
                "k8s.io.api.authorization.v1.SelfSubjectAccessReview",
            ),
        ];
        for (api_version, kind, full_name) in cases {
            let message = schema.message_for(api_version, kind).unwrap();
            assert_eq!(message.full_name(), full_name);
        }
        assert!(schema.message_for("batch/v1", "Job").is_none());
        assert!(schema.message_for("v1", "Nope").is_none());
    }
}
