//! The Kubernetes protobuf envelope: the `k8s\0` magic number followed by a `runtime.Unknown`
//! message whose type meta names the object and whose raw bytes hold it.

use prost_reflect::{DynamicMessage, Value};

use super::schema::Schema;
use super::ProtobufError;

/// The four bytes every Kubernetes protobuf body starts with.
pub(super) const MAGIC: &[u8; 4] = b"k8s\x00";

const UNKNOWN: &str = "k8s.io.apimachinery.pkg.runtime.Unknown";

/// The parts of a `runtime.Unknown` envelope.
#[derive(Debug, Default)]
pub(super) struct Envelope {
    pub api_version: String,
    pub kind: String,
    pub raw: Vec<u8>,
    pub content_encoding: String,
}

impl Envelope {
    /// Parses a full body: magic number, then the `runtime.Unknown` message.
    pub fn parse(schema: &Schema, body: &[u8]) -> Result<Self, ProtobufError> {
        let rest = body
            .strip_prefix(MAGIC.as_slice())
            .ok_or(ProtobufError::MissingMagic)?;
        let descriptor = schema
            .message(UNKNOWN)
            .ok_or_else(|| ProtobufError::Schema(format!("{UNKNOWN} is missing")))?;
        let unknown = DynamicMessage::decode(descriptor, rest).map_err(ProtobufError::Envelope)?;
        let mut envelope = Envelope {
            content_encoding: string(&unknown, "contentEncoding"),
            ..Envelope::default()
        };
        if let Some(Value::Bytes(raw)) = unknown.get_field_by_name("raw").as_deref() {
            envelope.raw = raw.to_vec();
        }
        if let Some(Value::Message(type_meta)) = unknown.get_field_by_name("typeMeta").as_deref() {
            envelope.api_version = string(type_meta, "apiVersion");
            envelope.kind = string(type_meta, "kind");
        }
        Ok(envelope)
    }
}

fn string(message: &DynamicMessage, field: &str) -> String {
    match message.get_field_by_name(field).as_deref() {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    }
}
