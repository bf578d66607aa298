//! Messages whose JSON form is not an object of their fields: times, durations, IntOrString,
//! quantities, raw JSON holders and the single-list wrappers go-to-protobuf generates.

use chrono::{DateTime, Utc};
use prost_reflect::{DynamicMessage, ReflectMessage, Value};
use serde_json::Value as Json;

use super::ProtobufError;

/// The JSON of `message` when its type has a special JSON form, else `None`.
pub(super) fn convert(message: &DynamicMessage) -> Option<Result<Json, ProtobufError>> {
    let name = message.descriptor().full_name().to_string();
    let converted = match name.strip_prefix("k8s.io.apimachinery.pkg.") {
        Some("apis.meta.v1.Time") => time(message, false),
        Some("apis.meta.v1.MicroTime") => time(message, true),
        Some("apis.meta.v1.Duration") => Ok(Json::String(go_duration(int(message, "duration")))),
        Some("util.intstr.IntOrString") => Ok(int_or_string(message)),
        Some("api.resource.Quantity") | Some("api.resource.QuantityValue") => {
            let text = string(message, "string");
            Ok(Json::String(if text.is_empty() {
                "0".into()
            } else {
                text
            }))
        }
        Some("runtime.RawExtension") => raw_json(message, "raw"),
        Some("apis.meta.v1.FieldsV1") => raw_json(message, "Raw"),
        Some("apis.meta.v1.Verbs") => Ok(string_items(message)),
        _ if name.ends_with(".ExtraValue") && name.starts_with("k8s.io.api.") => {
            Ok(string_items(message))
        }
        _ => return None,
    };
    Some(converted)
}

/// `metav1.Time` (RFC 3339, seconds) or `metav1.MicroTime` (six fractional digits); a zero
/// time travels as an empty message and is `null` in JSON, as Go writes it.
fn time(message: &DynamicMessage, micro: bool) -> Result<Json, ProtobufError> {
    if !message.has_field_by_name("seconds") && !message.has_field_by_name("nanos") {
        return Ok(Json::Null);
    }
    let seconds = int(message, "seconds");
    let nanos = if micro {
        u32::try_from(int(message, "nanos")).unwrap_or(0) / 1000 * 1000
    } else {
        0
    };
    let at: DateTime<Utc> =
        DateTime::from_timestamp(seconds, nanos).ok_or(ProtobufError::TimeOutOfRange(seconds))?;
    let format = if micro {
        "%Y-%m-%dT%H:%M:%S%.6fZ"
    } else {
        "%Y-%m-%dT%H:%M:%SZ"
    };
    Ok(Json::String(at.format(format).to_string()))
}

/// Go's `time.Duration.String()`: `0s`, `1.5s`, `2m0s`, `1h0m0s`, `100ms`, `10µs`, `7ns`.
fn go_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let u = nanos.unsigned_abs();
    if u < 1_000_000_000 {
        let (prec, unit) = match u {
            0..=999 => (0, "ns"),
            1_000..=999_999 => (3, "µs"),
            _ => (6, "ms"),
        };
        let scale = 10u64.pow(prec);
        return format!("{sign}{}{}{unit}", u / scale, fraction(u % scale, prec));
    }
    let seconds = u / 1_000_000_000;
    let mut out = format!("{}{}s", seconds % 60, fraction(u % 1_000_000_000, 9));
    let minutes = seconds / 60;
    if minutes > 0 {
        out = format!("{}m{out}", minutes % 60);
        let hours = minutes / 60;
        if hours > 0 {
            out = format!("{hours}h{out}");
        }
    }
    format!("{sign}{out}")
}

/// `.5` for 500 of 3 digits; empty when zero.
fn fraction(value: u64, digits: u32) -> String {
    if value == 0 {
        return String::new();
    }
    let padded = format!("{value:0width$}", width = digits as usize);
    format!(".{}", padded.trim_end_matches('0'))
}

fn int_or_string(message: &DynamicMessage) -> Json {
    if int(message, "type") == 1 {
        Json::String(string(message, "strVal"))
    } else {
        Json::from(int(message, "intVal"))
    }
}

fn raw_json(message: &DynamicMessage, field: &str) -> Result<Json, ProtobufError> {
    let raw = match message.get_field_by_name(field).as_deref() {
        Some(Value::Bytes(raw)) => raw.to_vec(),
        _ => Vec::new(),
    };
    if raw.is_empty() {
        return Ok(Json::Null);
    }
    if raw.starts_with(super::envelope::MAGIC) {
        return super::decode_protobuf_object(&raw);
    }
    serde_json::from_slice(&raw).map_err(|source| ProtobufError::RawJson {
        message: message.descriptor().full_name().to_string(),
        source,
    })
}

fn string_items(message: &DynamicMessage) -> Json {
    let items = match message.get_field_by_name("items").as_deref() {
        Some(Value::List(items)) => items
            .iter()
            .filter_map(|item| item.as_str().map(|s| Json::String(s.to_string())))
            .collect(),
        _ => Vec::new(),
    };
    Json::Array(items)
}

fn int(message: &DynamicMessage, field: &str) -> i64 {
    match message.get_field_by_name(field).as_deref() {
        Some(Value::I64(v)) => *v,
        Some(Value::I32(v)) => i64::from(*v),
        Some(Value::U32(v)) => i64::from(*v),
        Some(Value::U64(v)) => i64::try_from(*v).unwrap_or(i64::MAX),
        _ => 0,
    }
}

fn string(message: &DynamicMessage, field: &str) -> String {
    match message.get_field_by_name(field).as_deref() {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use prost::bytes::Bytes;
    use prost_reflect::{DynamicMessage, Value};
    use serde_json::json;

    use super::{convert, go_duration};
    use crate::protobuf::schema::Schema;

    fn message(name: &str, fields: &[(&str, Value)]) -> DynamicMessage {
        let descriptor = Schema::get().unwrap().message(name).unwrap();
        let mut message = DynamicMessage::new(descriptor);
        for (field, value) in fields {
            message.set_field_by_name(field, value.clone());
        }
        message
    }

    fn json_of(message: &DynamicMessage) -> serde_json::Value {
        convert(message).unwrap().unwrap()
    }

    #[test]
    fn special_messages_map_to_their_json_forms() {
        let meta = "k8s.io.apimachinery.pkg.apis.meta.v1";
        let duration = message(
            &format!("{meta}.Duration"),
            &[("duration", Value::I64(90_000_000_000))],
        );
        assert_eq!(json_of(&duration), json!("1m30s"));
        let int = message("k8s.io.apimachinery.pkg.util.intstr.IntOrString", &[]);
        assert_eq!(json_of(&int), json!(0));
        let quantity = message("k8s.io.apimachinery.pkg.api.resource.Quantity", &[]);
        assert_eq!(json_of(&quantity), json!("0"));
        let micro = message(
            &format!("{meta}.MicroTime"),
            &[("seconds", Value::I64(0)), ("nanos", Value::I32(999))],
        );
        assert_eq!(json_of(&micro), json!("1970-01-01T00:00:00.000000Z"));
        let empty_raw = message("k8s.io.apimachinery.pkg.runtime.RawExtension", &[]);
        assert_eq!(json_of(&empty_raw), serde_json::Value::Null);
        let bad_raw = message(
            "k8s.io.apimachinery.pkg.runtime.RawExtension",
            &[("raw", Value::Bytes(Bytes::from_static(b"{not json")))],
        );
        assert!(convert(&bad_raw).unwrap().is_err());
        let plain = message(&format!("{meta}.ObjectMeta"), &[]);
        assert!(convert(&plain).is_none());
    }

    #[test]
    fn durations_print_like_go() {
        let cases = [
            (0, "0s"),
            (7, "7ns"),
            (1_500, "1.5µs"),
            (100_000_000, "100ms"),
            (1_500_000_000, "1.5s"),
            (120_000_000_000, "2m0s"),
            (3_600_000_000_000, "1h0m0s"),
            (3_723_000_000_000, "1h2m3s"),
            (-90_000_000_000, "-1m30s"),
        ];
        for (nanos, text) in cases {
            assert_eq!(go_duration(nanos), text, "{nanos}");
        }
    }
}
