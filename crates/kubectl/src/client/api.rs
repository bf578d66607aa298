//! The connection to the API server: effective cluster/user/namespace from kubeconfig
//! and flags, a `kube::Client` for raw requests, and kubectl's error texts.

use crate::client::kubeconfig::Kubeconfig;
use crate::ctx::{CmdError, Ctx};
use futures::AsyncBufRead;
use http::{Method, Request};
use serde_json::{json, Value};

/// Accept header kubectl sends for `get`.
pub const TABLE_ACCEPT: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

/// Failures talking to the server.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// TCP connection refused.
    #[error(
        "The connection to the server {0} was refused - did you specify the right host or port?"
    )]
    Refused(String),
    /// The server answered with an error Status.
    #[error("{}", status_line(.reason, .message))]
    Status {
        /// HTTP code.
        code: u16,
        /// Status reason (NotFound, AlreadyExists …).
        reason: String,
        /// Status message.
        message: String,
    },
    /// Anything else.
    #[error("Unable to connect to the server: {0}")]
    Other(String),
}

fn status_line(reason: &str, message: &str) -> String {
    if reason.is_empty() || reason == "Unknown" {
        format!("Error from server: {message}")
    } else {
        format!("Error from server ({reason}): {message}")
    }
}

impl From<ApiError> for CmdError {
    fn from(e: ApiError) -> Self {
        CmdError::Raw(e.to_string())
    }
}

impl ApiError {
    /// cmdutil.AddSourceToErr: names the file in a server error (`error when creating
    /// "x.yaml": …`).
    pub fn with_source(self, verb: &str, source: &str) -> ApiError {
        match self {
            ApiError::Status {
                code,
                reason,
                message,
            } if !source.is_empty() => ApiError::Status {
                code,
                reason,
                message: format!("error when {verb} \"{source}\": {message}"),
            },
            other => other,
        }
    }

    /// True for a 404.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ApiError::Status { code: 404, .. })
    }
}

/// An API connection.
#[derive(Clone)]
pub struct Api {
    client: kube::Client,
    /// `host:port` of the server, for messages.
    pub host: String,
    /// Server URL.
    pub url: String,
    /// Effective namespace.
    pub namespace: String,
}

fn host_port(url: &str) -> String {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let hp = rest.split('/').next().unwrap_or(rest);
    if hp.contains(':') {
        hp.to_string()
    } else if url.starts_with("https") {
        format!("{hp}:443")
    } else {
        format!("{hp}:80")
    }
}

impl Api {
    /// Builds the connection from kubeconfig and global flags.
    pub async fn connect(ctx: &Ctx) -> Result<Api, CmdError> {
        let kc =
            Kubeconfig::load(ctx.p.get("kubeconfig")).map_err(|e| CmdError::Msg(e.to_string()))?;
        let ctx_name = ctx
            .p
            .get("context")
            .map(str::to_string)
            .unwrap_or(kc.current_context.clone());
        let context = kc.context(&ctx_name).map(|c| c.body.clone());
        if ctx.p.get("context").is_some() && context.is_none() {
            return Err(CmdError::Msg(format!(
                "context was not found for specified context: {ctx_name}"
            )));
        }
        let context = context.unwrap_or_else(|| json!({}));
        let cl_name = ctx
            .p
            .get("cluster")
            .map(str::to_string)
            .or_else(|| {
                context
                    .get("cluster")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_default();
        let us_name = ctx
            .p
            .get("user")
            .map(str::to_string)
            .or_else(|| {
                context
                    .get("user")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_default();
        let mut cluster = kc
            .cluster(&cl_name)
            .map(|c| c.body.clone())
            .unwrap_or_else(|| json!({}));
        let mut user = kc
            .user(&us_name)
            .map(|c| c.body.clone())
            .unwrap_or_else(|| json!({}));
        if let Some(s) = ctx.p.get("server") {
            cluster["server"] = json!(s);
        }
        if cluster
            .get("server")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            cluster["server"] = json!("http://localhost:8080");
        }
        if ctx.p.flag("insecure-skip-tls-verify") {
            cluster["insecure-skip-tls-verify"] = json!(true);
            if let Some(m) = cluster.as_object_mut() {
                m.remove("certificate-authority-data");
                m.remove("certificate-authority");
            }
        }
        if let Some(ca) = ctx.p.get("certificate-authority") {
            cluster["certificate-authority"] = json!(ca);
        }
        if let Some(t) = ctx.p.get("token") {
            user["token"] = json!(t);
        }
        for (flag, key) in [
            ("client-certificate", "client-certificate"),
            ("client-key", "client-key"),
        ] {
            if let Some(v) = ctx.p.get(flag) {
                user[key] = json!(v);
            }
        }
        let namespace = ctx
            .namespace_flag()
            .map(str::to_string)
            .or_else(|| {
                context
                    .get("namespace")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
            })
            .unwrap_or_else(|| "default".into());
        let url = cluster["server"]
            .as_str()
            .unwrap_or("")
            .trim_end_matches('/')
            .to_string();
        let doc = json!({
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "c", "cluster": cluster}],
            "users": [{"name": "u", "user": user}],
            "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
            "current-context": "x",
        });
        let kcfg: kube::config::Kubeconfig =
            serde_json::from_value(doc).map_err(|e| CmdError::Msg(e.to_string()))?;
        let mut cfg =
            kube::Config::from_custom_kubeconfig(kcfg, &kube::config::KubeConfigOptions::default())
                .await
                .map_err(|e| CmdError::Msg(e.to_string()))?;
        cfg.default_retry = false;
        cfg.read_timeout = None;
        let client = kube::Client::try_from(cfg).map_err(|e| CmdError::Msg(e.to_string()))?;
        Ok(Api {
            client,
            host: host_port(&url),
            url,
            namespace,
        })
    }

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

/// An error answer's body (a Status) as an [`ApiError`].
pub fn status_error(code: u16, body: &[u8]) -> ApiError {
    match serde_json::from_slice::<Value>(body) {
        Ok(st) if st.get("kind").and_then(Value::as_str) == Some("Status") => ApiError::Status {
            code,
            reason: st
                .get("reason")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            message: st
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        },
        _ => ApiError::Status {
            code,
            reason: String::new(),
            message: format!(
                "the server responded with the status code {code} but did not return more information"
            ),
        },
    }
}

/// Prints the klog line kubectl logs when discovery fails on a refused connection.
pub fn discovery_refused_log(api: &Api) {
    let host = api.host.replace("localhost", "127.0.0.1");
    // kubectl's discovery retries five times before giving up
    for _ in 0..5 {
        let now = chrono::Local::now();
        crate::ctx::err(&format!(
        "E{} {:>7} memcache.go:265] \"Unhandled Error\" err=\"couldn't get current server API group list: Get \\\"{}/api?timeout=32s\\\": dial tcp {}: connect: connection refused\"\n",
        now.format("%m%d %H:%M:%S%.6f"),
        std::process::id(),
        api.url,
        host
    ));
    }
}
