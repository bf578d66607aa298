//! Decoding of Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`) into the
//! JSON a JSON client would have sent for the same object.
//!
//! The schema is a protoc descriptor set of the served API groups (`crates/api/proto/k8s.pb.bin`)
//! plus the Go JSON facts protobuf does not carry (`crates/api/proto/go_fields.txt`): pointer
//! fields, fields without `omitempty`, inlined structs and renamed fields. See `proto/README.md`.

mod envelope;
mod schema;
mod special;
mod walk;

#[cfg(test)]
mod tests;

/// The media type Kubernetes clients use for protobuf bodies.
pub const PROTOBUF_MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// Why a protobuf body could not be turned into JSON.
#[derive(Debug, thiserror::Error)]
pub enum ProtobufError {
    /// The body does not start with `k8s\0`.
    #[error("the body does not start with the Kubernetes protobuf magic number")]
    MissingMagic,
    /// The `runtime.Unknown` envelope is malformed.
    #[error("cannot decode the protobuf envelope: {0}")]
    Envelope(#[source] prost::DecodeError),
    /// The envelope declares a content encoding (e.g. gzip) we do not handle.
    #[error("unsupported protobuf content encoding {0:?}")]
    ContentEncoding(String),
    /// The envelope has no kind or apiVersion.
    #[error("the protobuf envelope carries no apiVersion and kind")]
    MissingTypeMeta,
    /// No schema is known for this apiVersion and kind.
    #[error("no protobuf schema for {api_version}, Kind={kind}")]
    UnknownKind {
        /// The envelope's apiVersion.
        api_version: String,
        /// The envelope's kind.
        kind: String,
    },
    /// The object bytes do not match the kind's schema.
    #[error("cannot decode {kind} from protobuf: {source}")]
    Object {
        /// The kind being decoded.
        kind: String,
        /// The wire-format error.
        #[source]
        source: prost::DecodeError,
    },
    /// A raw JSON field (`RawExtension`, `FieldsV1`) does not hold JSON.
    #[error("field of type {message} does not hold JSON: {source}")]
    RawJson {
        /// The message type holding the raw bytes.
        message: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// A time's seconds are outside the range RFC 3339 can express.
    #[error("time {0}s since the epoch is out of range")]
    TimeOutOfRange(i64),
    /// The embedded schema could not be loaded (a build problem, not a client one).
    #[error("the embedded protobuf schema is unusable: {0}")]
    Schema(String),
}

/// Decodes a Kubernetes protobuf body (magic number + `runtime.Unknown` envelope) into the
/// object's JSON, including `apiVersion` and `kind` taken from the envelope's type meta.
pub fn decode_protobuf_object(body: &[u8]) -> Result<serde_json::Value, ProtobufError> {
    let schema = schema::Schema::get()?;
    let envelope = envelope::Envelope::parse(schema, body)?;
    if !envelope.content_encoding.is_empty() {
        return Err(ProtobufError::ContentEncoding(envelope.content_encoding));
    }
    if envelope.api_version.is_empty() || envelope.kind.is_empty() {
        return Err(ProtobufError::MissingTypeMeta);
    }
    let descriptor = schema
        .message_for(&envelope.api_version, &envelope.kind)
        .ok_or_else(|| ProtobufError::UnknownKind {
            api_version: envelope.api_version.clone(),
            kind: envelope.kind.clone(),
        })?;
    let message = prost_reflect::DynamicMessage::decode(descriptor, envelope.raw.as_slice())
        .map_err(|source| ProtobufError::Object {
            kind: envelope.kind.clone(),
            source,
        })?;
    let mut object = match walk::message_to_json(schema, &message)? {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    object.insert("apiVersion".into(), envelope.api_version.into());
    object.insert("kind".into(), envelope.kind.into());
    Ok(serde_json::Value::Object(object))
}

/// True when a `Content-Type` header value names the Kubernetes protobuf media type.
pub fn is_protobuf_content_type(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|media| media.trim().eq_ignore_ascii_case(PROTOBUF_MEDIA_TYPE))
}
