//! HTTP plumbing: the body type, responses, query strings, content negotiation
//! and request-body decoding (JSON or YAML, 3 MiB cap).

use crate::status::{ApiError, ApiResult};
use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Response, StatusCode};
use http_body_util::{BodyExt, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use serde_json::Value;
pub use skiff_http::{full, Body};
use std::collections::HashMap;

/// A response.
pub type Resp = skiff_http::Response;

/// Largest accepted request body (upstream's 3 MiB).
pub const MAX_BODY: usize = 3 * 1024 * 1024;

/// A response with a content type and bytes.
pub fn bytes_response(code: u16, content_type: &str, body: impl Into<Bytes>) -> Resp {
    let mut r = Response::new(full(body));
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

/// A JSON response.
pub fn json_response(code: u16, v: &Value) -> Resp {
    bytes_response(
        code,
        "application/json",
        serde_json::to_vec(v).unwrap_or_default(),
    )
}

/// A Status failure response.
pub fn error_response(e: &ApiError) -> Resp {
    json_response(e.code, &e.to_status())
}

/// A chunked streaming response fed by a channel.
pub fn stream_response(content_type: &str, rx: tokio::sync::mpsc::Receiver<Bytes>) -> Resp {
    let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
    let body = StreamBody::new(futures::StreamExt::map(stream, |b| {
        Ok::<_, std::io::Error>(Frame::data(b))
    }));
    let mut r = Response::new(BodyExt::boxed_unsync(body));
    if let Ok(v) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

/// Query parameters (last value wins, except `command` which may repeat).
#[derive(Debug, Default, Clone)]
pub struct Query {
    /// Decoded single values.
    pub map: HashMap<String, String>,
    /// All pairs in order.
    pub pairs: Vec<(String, String)>,
}

impl Query {
    /// Parses a raw query string.
    pub fn parse(q: Option<&str>) -> Query {
        let pairs = skiff_http::query::pairs(q);
        let map = pairs.iter().cloned().collect();
        Query { map, pairs }
    }

    /// One value.
    pub fn get(&self, k: &str) -> Option<&str> {
        self.map.get(k).map(String::as_str)
    }

    /// A value that is present and not empty.
    pub fn nonempty(&self, k: &str) -> Option<&str> {
        self.get(k).filter(|v| !v.is_empty())
    }

    /// Boolean flags as Go parses them.
    pub fn flag(&self, k: &str) -> bool {
        // Go's strconv.ParseBool (the Python client sends "True").
        matches!(
            self.get(k),
            Some("true") | Some("1") | Some("t") | Some("T") | Some("TRUE") | Some("True")
        )
    }
}

/// What representation the client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Output {
    /// Plain JSON.
    #[default]
    Json,
    /// YAML.
    Yaml,
    /// meta.k8s.io Table (version string).
    Table(&'static str),
    /// PartialObjectMetadata(List) (version string).
    Metadata(&'static str),
    /// Aggregated discovery (version string).
    Discovery(&'static str),
}

/// Picks the first supported representation from an `Accept` header.
pub fn negotiate(headers: &HeaderMap) -> Output {
    let accept = match headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) {
        Some(a) => a,
        None => return Output::Json,
    };
    for item in accept.split(',') {
        let mut parts = item.split(';').map(str::trim);
        let mt = parts.next().unwrap_or("");
        let mut params = HashMap::new();
        for p in parts {
            if let Some((k, v)) = p.split_once('=') {
                params.insert(k.trim(), v.trim());
            }
        }
        let version = |v: Option<&&str>| -> Option<&'static str> {
            match v.copied() {
                Some("v1") => Some("v1"),
                Some("v1beta1") => Some("v1beta1"),
                Some("v2") => Some("v2"),
                Some("v2beta1") => Some("v2beta1"),
                _ => None,
            }
        };
        match (mt, params.get("as").copied(), params.get("g").copied()) {
            ("application/json", Some("Table"), Some("meta.k8s.io")) => {
                if let Some(v) = version(params.get("v")).filter(|v| v.starts_with("v1")) {
                    return Output::Table(v);
                }
            }
            ("application/json", Some(k), Some("meta.k8s.io"))
                if k == "PartialObjectMetadata" || k == "PartialObjectMetadataList" =>
            {
                if let Some(v) = version(params.get("v")).filter(|v| v.starts_with("v1")) {
                    return Output::Metadata(v);
                }
            }
            ("application/json", Some("APIGroupDiscoveryList"), Some("apidiscovery.k8s.io")) => {
                if let Some(v) = version(params.get("v")).filter(|v| v.starts_with("v2")) {
                    return Output::Discovery(v);
                }
            }
            ("application/json", None, _) | ("*/*", _, _) | ("application/*", _, _) => {
                return Output::Json
            }
            ("application/yaml", None, _) => return Output::Yaml,
            _ => {}
        }
    }
    Output::Json
}

/// Reads the request body, at most [`MAX_BODY`] bytes.
pub async fn read_body(body: Incoming) -> ApiResult<Bytes> {
    match Limited::new(body, MAX_BODY).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(ApiError::too_large())
        }
        Err(e) => Err(ApiError::bad_request(format!(
            "unable to read request body: {e}"
        ))),
    }
}

/// The media type of the request body, without parameters.
pub fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|s| {
            s.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_else(|| "application/json".to_string())
}

/// Decodes a JSON or YAML object body.
pub fn decode_object(ct: &str, body: &[u8]) -> ApiResult<Value> {
    let v: Value = if ct.contains("yaml") {
        serde_yaml::from_slice(body).map_err(|e| {
            ApiError::bad_request(format!(
                "the server could not decode the request body: error converting YAML to JSON: {e}"
            ))
        })?
    } else if skiff_api::is_protobuf_content_type(ct) {
        skiff_api::decode_protobuf_object(body).map_err(|e| match e {
            skiff_api::ProtobufError::UnknownKind { .. } => ApiError::new(
                415,
                "UnsupportedMediaType",
                format!("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml ({e})"),
            ),
            e => ApiError::bad_request(format!(
                "the server could not decode the request body: {e}"
            )),
        })?
    } else if ct.contains("json") || ct.is_empty() {
        serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(format!("the server could not decode the request body: couldn't get version/kind; json parse error: {e}"))
        })?
    } else {
        return Err(ApiError::new(415, "UnsupportedMediaType", format!("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got {ct})")));
    };
    if !v.is_object() {
        return Err(ApiError::bad_request("the server could not decode the request body: the object provided is not a JSON/YAML object"));
    }
    Ok(v)
}

/// Renders a value as the negotiated plain representation (JSON or YAML).
pub fn object_response(code: u16, output: Output, v: &Value) -> Resp {
    match output {
        Output::Yaml => bytes_response(
            code,
            "application/yaml",
            serde_yaml::to_string(v).unwrap_or_default(),
        ),
        _ => json_response(code, v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_and_accept() {
        let q = Query::parse(Some("labelSelector=app%3Dweb%2Ctier+in+(a)&watch=true"));
        assert_eq!(q.get("labelSelector"), Some("app=web,tier in (a)"));
        assert!(q.flag("watch"));
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static(
                "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
            ),
        );
        assert_eq!(negotiate(&h), Output::Table("v1"));
        h.insert(header::ACCEPT, HeaderValue::from_static("application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"));
        assert_eq!(negotiate(&h), Output::Discovery("v2beta1"));
    }
}
