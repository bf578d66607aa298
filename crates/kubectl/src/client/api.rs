//! Requests to the API server over the connection's `kube::Client`: JSON calls, text,
//! streams (watch, follow), WebSocket upgrades and raw requests for `proxy`.

use super::error::{status_error, ApiError};
use futures::AsyncBufRead;
use http::{Method, Request};
use serde_json::Value;

/// Accept header kubectl sends for `get`.
pub const TABLE_ACCEPT: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

/// An API connection.
#[derive(Clone)]
pub struct Api {
    pub(super) client: kube::Client,
    /// `host:port` of the server, for messages.
    pub host: String,
    /// Server URL.
    pub url: String,
    /// Effective namespace.
    pub namespace: String,
}

impl Api {
    fn map_err(&self, e: kube::Error) -> ApiError {
        if let kube::Error::Api(s) = &e {
            return ApiError::Status {
                code: s.code,
                reason: s.reason.clone(),
                message: s.message.clone(),
            };
        }
        let mut chain = String::new();
        let mut cur: Option<&dyn std::error::Error> = Some(&e);
        while let Some(c) = cur {
            chain.push_str(&c.to_string());
            chain.push('|');
            if let Some(io) = c.downcast_ref::<std::io::Error>() {
                if io.kind() == std::io::ErrorKind::ConnectionRefused {
                    return ApiError::Refused(self.host.clone());
                }
            }
            cur = c.source();
        }
        if chain.contains("onnection refused") {
            return ApiError::Refused(self.host.clone());
        }
        ApiError::Other(e.to_string())
    }

    fn req(
        method: Method,
        path: &str,
        accept: &str,
        ctype: Option<&str>,
        body: Vec<u8>,
    ) -> Result<Request<Vec<u8>>, ApiError> {
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header("Accept", accept);
        if let Some(ct) = ctype {
            b = b.header("Content-Type", ct);
        }
        b.body(body).map_err(|e| ApiError::Other(e.to_string()))
    }

    /// Sends a request and decodes the JSON answer.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        accept: &str,
        ctype: Option<&str>,
        body: Vec<u8>,
    ) -> Result<Value, ApiError> {
        let req = Self::req(method, path, accept, ctype, body)?;
        let text = self
            .client
            .request_text(req)
            .await
            .map_err(|e| self.map_err(e))?;
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| ApiError::Other(e.to_string()))
    }

    /// GET as JSON.
    pub async fn get(&self, path: &str) -> Result<Value, ApiError> {
        self.call(Method::GET, path, "application/json", None, Vec::new())
            .await
    }

    /// GET text (logs).
    pub async fn get_text(&self, path: &str) -> Result<String, ApiError> {
        let req = Self::req(Method::GET, path, "*/*", None, Vec::new())?;
        self.client
            .request_text(req)
            .await
            .map_err(|e| self.map_err(e))
    }

    /// Sends JSON.
    pub async fn send_json(
        &self,
        method: Method,
        path: &str,
        ctype: &str,
        body: &Value,
    ) -> Result<Value, ApiError> {
        self.call(
            method,
            path,
            "application/json",
            Some(ctype),
            body.to_string().into_bytes(),
        )
        .await
    }

    /// Streams a response body (watch, follow logs).
    pub async fn stream(
        &self,
        path: &str,
        accept: &str,
    ) -> Result<impl AsyncBufRead + use<>, ApiError> {
        let req = Self::req(Method::GET, path, accept, None, Vec::new())?;
        self.client
            .request_stream(req)
            .await
            .map_err(|e| self.map_err(e))
    }
}

/// An upgraded WebSocket to the API server.
pub type WsStream =
    tokio_tungstenite::WebSocketStream<hyper_util::rt::TokioIo<hyper::upgrade::Upgraded>>;

impl Api {
    /// Upgrades `GET path` to a WebSocket offering `protocols`; returns the stream and
    /// the protocol the server chose. Refusals carry the server's Status.
    pub async fn websocket(
        &self,
        path: &str,
        protocols: &[&str],
    ) -> Result<(WsStream, String), ApiError> {
        use base64::Engine;
        let key = base64::engine::general_purpose::STANDARD.encode(rand_key());
        let req = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header("Connection", "Upgrade")
            .header("Upgrade", "websocket")
            .header("Sec-WebSocket-Version", "13")
            .header("Sec-WebSocket-Key", &key)
            .header("Sec-WebSocket-Protocol", protocols.join(", "))
            .body(kube::client::Body::from(Vec::new()))
            .map_err(|e| ApiError::Other(e.to_string()))?;
        let res = self.client.send(req).await.map_err(|e| self.map_err(e))?;
        if res.status() != http::StatusCode::SWITCHING_PROTOCOLS {
            let code = res.status().as_u16();
            use http_body_util::BodyExt;
            let body = res
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes().to_vec())
                .unwrap_or_default();
            return Err(status_error(code, &body));
        }
        let proto = res
            .headers()
            .get("Sec-WebSocket-Protocol")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let upgraded = hyper::upgrade::on(res)
            .await
            .map_err(|e| ApiError::Other(e.to_string()))?;
        let ws = tokio_tungstenite::WebSocketStream::from_raw_socket(
            hyper_util::rt::TokioIo::new(upgraded),
            tokio_tungstenite::tungstenite::protocol::Role::Client,
            None,
        )
        .await;
        Ok((ws, proto))
    }

    /// Sends a request and returns the raw response (for `proxy`).
    pub async fn send_raw(
        &self,
        req: Request<kube::client::Body>,
    ) -> Result<http::Response<kube::client::Body>, ApiError> {
        self.client.send(req).await.map_err(|e| self.map_err(e))
    }
}

fn rand_key() -> [u8; 16] {
    // a nonce, not a secret: time and pid mixed are enough for Sec-WebSocket-Key
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut k = [0u8; 16];
    let x = t ^ (u128::from(std::process::id()) << 64);
    k.copy_from_slice(&x.to_le_bytes());
    k
}

/// Percent-encodes a query value.
pub fn enc(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}
