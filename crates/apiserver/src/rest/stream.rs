//! Streaming subresources forwarded to the node's kubelet over HTTPS with the
//! kubelet-client certificate: pods/log, exec, attach, portforward. Upgrades are relayed
//! byte for byte, so WebSocket and SPDY frames pass unchanged. The forwarding here also
//! serves `proxy` (see `proxy.rs`).

use super::Ctx;
use crate::httputil::{Body, Resp};
use crate::objects;
use crate::resources::find_resource;
use crate::status::{ApiError, ApiResult};
use http::{header, Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use skiff_http::empty;
use skiff_http::query::encode_pairs;
use std::sync::Arc;

pub(super) async fn load_named(
    ctx: &Ctx,
    plural: &str,
    ns: Option<&str>,
    name: &str,
) -> ApiResult<Value> {
    let res = find_resource("", "v1", plural).ok_or_else(ApiError::no_route)?;
    let kv = ctx
        .state
        .store
        .get(&objects::object_key(res, ns, name), None)
        .await?;
    let kv = kv.ok_or_else(|| ApiError::not_found("", plural, name))?;
    objects::decode(&kv).map_err(ApiError::internal)
}

/// host:port of a node's kubelet.
pub(super) async fn kubelet_addr(ctx: &Ctx, node: &str) -> ApiResult<String> {
    let n = load_named(ctx, "nodes", None, node).await?;
    let addrs = n
        .pointer("/status/addresses")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let pick = |t: &str| {
        addrs
            .iter()
            .find(|a| a["type"] == t)
            .and_then(|a| a["address"].as_str())
            .map(String::from)
    };
    let ip = pick("InternalIP")
        .or_else(|| pick("ExternalIP"))
        .or_else(|| pick("Hostname"))
        .ok_or_else(|| {
            ApiError::internal(format!(
                "no preferred addresses found; known addresses: {addrs:?}"
            ))
        })?;
    let port = n
        .pointer("/status/daemonEndpoints/kubeletEndpoint/Port")
        .and_then(Value::as_i64)
        .unwrap_or(10250);
    Ok(if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    })
}

fn pod_container(pod: &Value, name: &str, asked: Option<&str>) -> ApiResult<String> {
    let mut names: Vec<String> = Vec::new();
    for f in ["containers", "initContainers", "ephemeralContainers"] {
        if let Some(cs) = pod.pointer(&format!("/spec/{f}")).and_then(Value::as_array) {
            names.extend(
                cs.iter()
                    .filter_map(|c| c["name"].as_str().map(String::from)),
            );
        }
    }
    match asked.filter(|c| !c.is_empty()) {
        Some(c) if names.iter().any(|n| n == c) => Ok(c.to_string()),
        Some(c) => Err(ApiError::bad_request(format!(
            "container {c} is not valid for pod {name}"
        ))),
        None => {
            let main: Vec<String> = pod
                .pointer("/spec/containers")
                .and_then(Value::as_array)
                .map(|cs| {
                    cs.iter()
                        .filter_map(|c| c["name"].as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            if main.len() == 1 {
                Ok(main[0].clone())
            } else {
                Err(ApiError::bad_request(format!(
                    "a container name must be specified for pod {name}, choose one of: [{}]",
                    main.join(" ")
                )))
            }
        }
    }
}

async fn pod_and_node(ctx: &Ctx) -> ApiResult<(Value, String)> {
    let pod = load_named(ctx, "pods", ctx.ns.as_deref(), ctx.name()).await?;
    let node = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if node.is_empty() {
        return Err(ApiError::bad_request(format!(
            "pod {} does not have a host assigned",
            ctx.name()
        )));
    }
    Ok((pod, node))
}

/// Opens an HTTP/1.1 connection (TLS for kubelets) and sends `req`.
async fn send(
    ctx: &Ctx,
    addr: &str,
    tls: bool,
    req: Request<Body>,
) -> ApiResult<Response<Incoming>> {
    let err = |e: String| {
        ApiError::new(
            502,
            "ServiceUnavailable",
            format!("error trying to reach service: {e}"),
        )
    };
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| err(format!("dial tcp {addr}: {e}")))?;
    let _ = tcp.set_nodelay(true);
    if tls {
        let host = addr
            .rsplit_once(':')
            .map(|(h, _)| h.trim_matches(|c| c == '[' || c == ']'))
            .unwrap_or(addr);
        let sn = rustls::pki_types::ServerName::try_from(host.to_string())
            .map_err(|e| err(e.to_string()))?;
        let conn = tokio_rustls::TlsConnector::from(Arc::clone(&ctx.state.kubelet_tls));
        let stream = conn
            .connect(sn, tcp)
            .await
            .map_err(|e| err(e.to_string()))?;
        handshake(TokioIo::new(stream), req).await.map_err(err)
    } else {
        handshake(TokioIo::new(tcp), req).await.map_err(err)
    }
}

async fn handshake<T>(io: T, req: Request<Body>) -> Result<Response<Incoming>, String>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.with_upgrades().await;
    });
    sender.send_request(req).await.map_err(|e| e.to_string())
}

fn pass_response(resp: Response<Incoming>) -> Resp {
    resp.map(skiff_http::boxed)
}

/// GET pods/NAME/log.
pub async fn logs(ctx: &Ctx) -> ApiResult<Resp> {
    let (pod, node) = pod_and_node(ctx).await?;
    let container = pod_container(&pod, ctx.name(), ctx.query.get("container"))?;
    let keep = [
        "follow",
        "previous",
        "sinceSeconds",
        "sinceTime",
        "timestamps",
        "tailLines",
        "limitBytes",
        "insecureSkipTLSVerifyBackend",
    ];
    let pairs: Vec<(String, String)> = ctx
        .query
        .pairs
        .iter()
        .filter(|(k, _)| keep.contains(&k.as_str()))
        .cloned()
        .collect();
    let ns = ctx.ns.as_deref().unwrap_or("default");
    let mut uri = format!("/containerLogs/{ns}/{}/{container}", ctx.name());
    if !pairs.is_empty() {
        uri = format!("{uri}?{}", encode_pairs(&pairs));
    }
    let addr = kubelet_addr(ctx, &node).await?;
    let req = Request::get(uri)
        .header(header::HOST, addr.as_str())
        .body(empty())
        .map_err(ApiError::internal)?;
    Ok(pass_response(send(ctx, &addr, true, req).await?))
}

/// exec / attach / portforward: forwarded upgrade to the kubelet.
pub async fn connect(ctx: &Ctx, sub: &str, req: Request<Incoming>) -> ApiResult<Resp> {
    let (pod, node) = pod_and_node(ctx).await?;
    let ns = ctx.ns.as_deref().unwrap_or("default");
    let path = match sub {
        "portforward" => {
            let pairs: Vec<(String, String)> = ctx
                .query
                .pairs
                .iter()
                .filter(|(k, _)| k == "ports")
                .cloned()
                .collect();
            let q = encode_pairs(&pairs);
            format!(
                "/portForward/{ns}/{}{}{q}",
                ctx.name(),
                if q.is_empty() { "" } else { "?" }
            )
        }
        _ => {
            let container = pod_container(&pod, ctx.name(), ctx.query.get("container"))?;
            let mut pairs: Vec<(String, String)> = Vec::new();
            for (k, v) in &ctx.query.pairs {
                let t = matches!(v.as_str(), "true" | "1" | "t" | "T" | "TRUE" | "True");
                match k.as_str() {
                    "command" if sub == "exec" => pairs.push(("command".into(), v.clone())),
                    "stdin" if t => pairs.push(("input".into(), "1".into())),
                    "stdout" if t => pairs.push(("output".into(), "1".into())),
                    "stderr" if t => pairs.push(("error".into(), "1".into())),
                    "tty" if t => pairs.push(("tty".into(), "1".into())),
                    _ => {}
                }
            }
            format!(
                "/{sub}/{ns}/{}/{container}?{}",
                ctx.name(),
                encode_pairs(&pairs)
            )
        }
    };
    let addr = kubelet_addr(ctx, &node).await?;
    forward(ctx, &addr, true, path, req).await
}

/// Forwards a request (possibly an upgrade) and relays the upgraded connection.
pub(super) async fn forward(
    ctx: &Ctx,
    addr: &str,
    tls: bool,
    path: String,
    mut req: Request<Incoming>,
) -> ApiResult<Resp> {
    let upgrade = req.headers().contains_key(header::UPGRADE);
    let mut b = Request::builder().method(req.method().clone()).uri(path);
    for (k, v) in req.headers() {
        if k == header::AUTHORIZATION
            || k == header::HOST
            || (!upgrade && (k == header::CONNECTION || k == header::UPGRADE))
        {
            continue;
        }
        b = b.header(k, v);
    }
    b = b.header(header::HOST, addr);
    let client_upgrade = if upgrade {
        Some(hyper::upgrade::on(&mut req))
    } else {
        None
    };
    let body: Body = if upgrade {
        empty()
    } else {
        skiff_http::boxed(req.into_body())
    };
    let out = b.body(body).map_err(ApiError::internal)?;
    let mut resp = send(ctx, addr, tls, out).await?;
    if resp.status() == http::StatusCode::SWITCHING_PROTOCOLS {
        if let Some(cu) = client_upgrade {
            let backend = hyper::upgrade::on(&mut resp);
            tokio::spawn(async move {
                let (Ok(c), Ok(k)) = (cu.await, backend.await) else {
                    return;
                };
                let (mut c, mut k) = (TokioIo::new(c), TokioIo::new(k));
                let _ = tokio::io::copy_bidirectional(&mut c, &mut k).await;
            });
        }
        let (parts, _) = resp.into_parts();
        return Ok(Response::from_parts(parts, empty()));
    }
    Ok(pass_response(resp))
}
