//! `kubectl proxy`: a local HTTP server that forwards every accepted request to the API
//! server with the kubeconfig's credentials, streaming the answer back; requests are
//! filtered by host, path and method regexes like upstream's FilterServer.

use crate::client::Api;
use crate::ctx::{out, CmdError, CmdResult, Ctx};
use crate::flags::{f, Kind, Spec};
use bytes::Bytes;
use http_body_util::{BodyExt, Either, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use regex::Regex;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Flags of `proxy`.
pub const FLAGS: &[Spec] = &[
    f("port", Some('p'), Kind::Value),
    f("address", None, Kind::Value),
    f("accept-hosts", None, Kind::Value),
    f("accept-paths", None, Kind::Value),
    f("reject-paths", None, Kind::Value),
    f("reject-methods", None, Kind::Value),
    f("api-prefix", None, Kind::Value),
    f("disable-filter", None, Kind::Bool),
    f("unix-socket", Some('u'), Kind::Value),
    f("www", Some('w'), Kind::Value),
    f("www-prefix", Some('P'), Kind::Value),
    f("keepalive", None, Kind::Value),
    f("append-server-path", None, Kind::Bool),
];

const DEFAULT_HOSTS: &str = r"^localhost$,^127\.0\.0\.1$,^\[::1\]$";
const DEFAULT_PATHS: &str = "^.*";
const DEFAULT_REJECT_PATHS: &str = "^/api/.*/pods/.*/exec,^/api/.*/pods/.*/attach";
const DEFAULT_REJECT_METHODS: &str = "^$";

fn regexes(spec: &str) -> Result<Vec<Regex>, CmdError> {
    spec.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| Regex::new(s).map_err(|e| CmdError::Msg(e.to_string())))
        .collect()
}

/// Upstream's FilterServer rules.
struct Filter {
    hosts: Vec<Regex>,
    paths: Vec<Regex>,
    reject_paths: Vec<Regex>,
    reject_methods: Vec<Regex>,
    disabled: bool,
}

impl Filter {
    fn accept(&self, method: &str, path: &str, host: &str) -> bool {
        if self.disabled {
            return true;
        }
        let any = |rs: &[Regex], v: &str| rs.iter().any(|r| r.is_match(v));
        any(&self.hosts, host)
            && any(&self.paths, path)
            && !any(&self.reject_paths, path)
            && !any(&self.reject_methods, method)
    }
}

/// `net.SplitHostPort(req.Host)`'s host, or "" when the Host has no port.
fn request_host(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return match rest.split_once("]:") {
            Some((h, _)) => &host[..h.len() + 2],
            None => "",
        };
    }
    match host.rsplit_once(':') {
        Some((h, _)) if !h.contains(':') => h,
        _ => "",
    }
}

type ProxyBody = Either<Full<Bytes>, kube::client::Body>;

fn text(code: u16, body: &str) -> Response<ProxyBody> {
    let mut r = Response::new(Either::Left(Full::new(Bytes::from(body.to_string()))));
    *r.status_mut() = http::StatusCode::from_u16(code).unwrap_or(http::StatusCode::BAD_GATEWAY);
    r.headers_mut().insert(
        "Content-Type",
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r.headers_mut().insert(
        "X-Content-Type-Options",
        http::HeaderValue::from_static("nosniff"),
    );
    r
}

async fn handle(
    api: Api,
    filter: Arc<Filter>,
    prefix: Arc<String>,
    req: Request<Incoming>,
) -> Result<Response<ProxyBody>, std::convert::Infallible> {
    let host = req
        .headers()
        .get("Host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_string();
    let path = req.uri().path().to_string();
    if !filter.accept(req.method().as_str(), &path, request_host(&host)) {
        return Ok(text(403, "Forbidden\n"));
    }
    let Some(rest) = path.strip_prefix(prefix.trim_end_matches('/')) else {
        return Ok(text(404, "404 page not found\n"));
    };
    let rest = if rest.starts_with('/') {
        rest.to_string()
    } else {
        format!("/{rest}")
    };
    let uri = match req.uri().query() {
        Some(q) => format!("{rest}?{q}"),
        None => rest,
    };
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return Ok(text(502, &format!("{e}\n"))),
    };
    let mut b = Request::builder().method(parts.method).uri(uri);
    for (k, v) in &parts.headers {
        let name = k.as_str();
        if matches!(
            name,
            "host"
                | "connection"
                | "keep-alive"
                | "proxy-connection"
                | "transfer-encoding"
                | "upgrade"
                | "authorization"
        ) {
            continue;
        }
        b = b.header(k, v);
    }
    let Ok(out_req) = b.body(kube::client::Body::from(body.to_vec())) else {
        return Ok(text(400, "bad request\n"));
    };
    match api.send_raw(out_req).await {
        Ok(res) => {
            let (parts, body) = res.into_parts();
            Ok(Response::from_parts(parts, Either::Right(body)))
        }
        Err(e) => Ok(text(502, &format!("{e}\n"))),
    }
}

/// Runs `proxy` until interrupted.
pub async fn run(ctx: &Ctx) -> CmdResult {
    let api = Api::connect(ctx).await?;
    let get = |k: &str, d: &str| ctx.p.get(k).unwrap_or(d).to_string();
    let filter = Arc::new(Filter {
        hosts: regexes(&get("accept-hosts", DEFAULT_HOSTS))?,
        paths: regexes(&get("accept-paths", DEFAULT_PATHS))?,
        reject_paths: regexes(&get("reject-paths", DEFAULT_REJECT_PATHS))?,
        reject_methods: regexes(&get("reject-methods", DEFAULT_REJECT_METHODS))?,
        disabled: ctx.p.flag("disable-filter"),
    });
    let prefix = Arc::new(get("api-prefix", "/"));
    let address = get("address", "127.0.0.1");
    let port = get("port", "8001");
    let lis = TcpListener::bind(format!("{address}:{port}"))
        .await
        .map_err(|e| CmdError::Msg(format!("listen tcp {address}:{port}: bind: {e}")))?;
    let bound = lis
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| format!("{address}:{port}"));
    out(&format!("Starting to serve on {bound}\n"));
    loop {
        let Ok((tcp, _)) = lis.accept().await else {
            continue;
        };
        let (api, filter, prefix) = (api.clone(), filter.clone(), prefix.clone());
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                handle(api.clone(), filter.clone(), prefix.clone(), req)
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(tcp), svc)
                .await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_filter() {
        let f = Filter {
            hosts: regexes(DEFAULT_HOSTS).unwrap_or_default(),
            paths: regexes(DEFAULT_PATHS).unwrap_or_default(),
            reject_paths: regexes(DEFAULT_REJECT_PATHS).unwrap_or_default(),
            reject_methods: regexes(DEFAULT_REJECT_METHODS).unwrap_or_default(),
            disabled: false,
        };
        assert!(f.accept("GET", "/api/v1/pods", request_host("127.0.0.1:8001")));
        assert!(f.accept("GET", "/version", request_host("localhost:8001")));
        assert!(f.accept("GET", "/version", request_host("[::1]:8001")));
        assert!(!f.accept("GET", "/version", request_host("example.com:8001")));
        assert!(!f.accept("GET", "/version", request_host("localhost")));
        assert!(!f.accept("POST", "/api/v1/namespaces/d/pods/p/exec", "localhost"));
    }
}
