//! The walk from a decoded protobuf message to Kubernetes JSON: proto field names as keys,
//! Go's `omitempty`/pointer rules for zero values, inlined structs flattened, maps as objects,
//! bytes as base64, and the special message types of `special`.

use base64::Engine as _;
use prost_reflect::{DynamicMessage, MapKey, Value};
use serde_json::{Map, Value as Json};

use super::schema::Schema;
use super::{special, ProtobufError};

/// The JSON form of a message.
pub(super) fn message_to_json(
    schema: &Schema,
    message: &DynamicMessage,
) -> Result<Json, ProtobufError> {
    if let Some(converted) = special::convert(message) {
        return converted;
    }
    let mut object = Map::new();
    for (field, value) in message.fields() {
        let go = schema.go_field(&field);
        let name = go
            .and_then(|go| go.json_name.clone())
            .unwrap_or_else(|| field.name().to_string());
        let json = match value {
            Value::List(items) => {
                if items.is_empty() {
                    continue;
                }
                let items = items
                    .iter()
                    .map(|item| value_to_json(schema, item))
                    .collect::<Result<Vec<_>, _>>()?;
                Json::Array(items)
            }
            Value::Map(entries) => {
                if entries.is_empty() {
                    continue;
                }
                let mut map = Map::new();
                for (key, item) in entries {
                    map.insert(map_key(key), value_to_json(schema, item)?);
                }
                Json::Object(map)
            }
            Value::Message(inner) => {
                let json = message_to_json(schema, inner)?;
                if go.is_some_and(|go| go.inline) {
                    if let Json::Object(fields) = json {
                        object.extend(fields);
                    }
                    continue;
                }
                json
            }
            scalar => {
                let keep_zero = go.is_some_and(|go| go.pointer || go.no_omit);
                if !keep_zero && is_zero(scalar) {
                    continue;
                }
                value_to_json(schema, scalar)?
            }
        };
        object.insert(name, json);
    }
    Ok(Json::Object(object))
}

/// The JSON of one value (a scalar, a message, or an element of a list or map).
fn value_to_json(schema: &Schema, value: &Value) -> Result<Json, ProtobufError> {
    Ok(match value {
        Value::Bool(b) => Json::Bool(*b),
        Value::I32(v) => Json::from(*v),
        Value::I64(v) => Json::from(*v),
        Value::U32(v) => Json::from(*v),
        Value::U64(v) => Json::from(*v),
        Value::F32(v) => float(f64::from(*v)),
        Value::F64(v) => float(*v),
        Value::String(s) => Json::String(s.clone()),
        Value::Bytes(bytes) => {
            Json::String(base64::engine::general_purpose::STANDARD.encode(bytes))
        }
        Value::EnumNumber(n) => Json::from(*n),
        Value::Message(message) => message_to_json(schema, message)?,
        Value::List(items) => Json::Array(
            items
                .iter()
                .map(|item| value_to_json(schema, item))
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(entries) => {
            let mut map = Map::new();
            for (key, item) in entries {
                map.insert(map_key(key), value_to_json(schema, item)?);
            }
            Json::Object(map)
        }
    })
}

fn float(v: f64) -> Json {
    serde_json::Number::from_f64(v).map_or(Json::Null, Json::Number)
}

fn map_key(key: &MapKey) -> String {
    match key {
        MapKey::String(s) => s.clone(),
        MapKey::Bool(b) => b.to_string(),
        MapKey::I32(v) => v.to_string(),
        MapKey::I64(v) => v.to_string(),
        MapKey::U32(v) => v.to_string(),
        MapKey::U64(v) => v.to_string(),
    }
}

/// Go's notion of an empty scalar, which `omitempty` drops.
fn is_zero(value: &Value) -> bool {
    match value {
        Value::Bool(b) => !b,
        Value::I32(v) => *v == 0,
        Value::I64(v) => *v == 0,
        Value::U32(v) => *v == 0,
        Value::U64(v) => *v == 0,
        Value::F32(v) => *v == 0.0,
        Value::F64(v) => *v == 0.0,
        Value::String(s) => s.is_empty(),
        Value::Bytes(b) => b.is_empty(),
        Value::EnumNumber(n) => *n == 0,
        Value::Message(_) | Value::List(_) | Value::Map(_) => false,
    }
}
