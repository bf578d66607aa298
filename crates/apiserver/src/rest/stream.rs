//! Streaming subresources forwarded elsewhere: pods/log, exec, attach, portforward
//! (to the node's kubelet over HTTPS with the kubelet-client certificate; upgrades are
//! relayed byte for byte, so WebSocket and SPDY frames pass unchanged), and
//! pods|services|nodes/NAME/proxy.

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

async fn load_named(ctx: &Ctx, plural: &str, ns: Option<&str>, name: &str) -> ApiResult<Value> {
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
async fn kubelet_addr(ctx: &Ctx, node: &str) -> ApiResult<String> {
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
async fn forward(
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

fn split_name_port(s: &str) -> (String, Option<String>) {
    let s = s
        .strip_prefix("http:")
        .or_else(|| s.strip_prefix("https:"))
        .unwrap_or(s);
    match s.split_once(':') {
        Some((n, p)) => (n.to_string(), Some(p.to_string()).filter(|p| !p.is_empty())),
        None => (s.to_string(), None),
    }
}

fn pod_port(pod: &Value, port: Option<&str>) -> ApiResult<i64> {
    let ports: Vec<Value> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .flat_map(|c| c["ports"].as_array().cloned().unwrap_or_default())
                .collect()
        })
        .unwrap_or_default();
    match port {
        Some(p) => match p.parse::<i64>() {
            Ok(n) => Ok(n),
            Err(_) => ports
                .iter()
                .find(|x| x["name"] == p)
                .and_then(|x| x["containerPort"].as_i64())
                .ok_or_else(|| ApiError::bad_request(format!("no such port: {p}"))),
        },
        None => Ok(ports
            .first()
            .and_then(|x| x["containerPort"].as_i64())
            .unwrap_or(80)),
    }
}

/// pods|services|nodes/NAME[:PORT]/proxy/PATH.
pub async fn proxy(ctx: &Ctx, req: Request<Incoming>) -> ApiResult<Resp> {
    let (name, port) = split_name_port(ctx.name());
    let mut path = format!("/{}", ctx.rest);
    if let Some(q) = req.uri().query() {
        path = format!("{path}?{q}");
    }
    let ns = ctx.ns.as_deref();
    match ctx.res.plural {
        "pods" => {
            let pod = load_named(ctx, "pods", ns, &name).await?;
            let ip = pod
                .pointer("/status/podIP")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| {
                    ApiError::unavailable(format!("pod {name} has no IP address yet"))
                })?;
            let p = pod_port(&pod, port.as_deref())?;
            forward(ctx, &format!("{ip}:{p}"), false, path, req).await
        }
        "services" => {
            let addr = service_backend(ctx, ns, &name, port.as_deref()).await?;
            forward(ctx, &addr, false, path, req).await
        }
        "nodes" => {
            let addr = kubelet_addr(ctx, &name).await?;
            forward(ctx, &addr, true, path, req).await
        }
        _ => Err(ApiError::no_route()),
    }
}

/// The Service port `port` names (by name or number), else the first one.
fn service_port(svc: &Value, port: Option<&str>) -> Option<Value> {
    let sports = svc.pointer("/spec/ports").and_then(Value::as_array)?;
    match port {
        Some(p) => sports
            .iter()
            .find(|x| {
                x["name"] == p || x["port"].as_i64().map(|n| n.to_string()) == Some(p.to_string())
            })
            .cloned(),
        None => sports.first().cloned(),
    }
}

/// The first address of the Endpoints with a port matching the Service port's name.
fn endpoints_addr(ep: &Value, sport: &Value) -> Option<String> {
    let subsets = ep.pointer("/subsets").and_then(Value::as_array)?;
    subsets.iter().find_map(|s| {
        let ip = s.pointer("/addresses/0/ip").and_then(Value::as_str)?;
        let p = s["ports"].as_array().and_then(|ps| {
            ps.iter()
                .find(|x| sport.get("name").map(|n| x["name"] == *n).unwrap_or(true))
                .or_else(|| ps.first())
                .and_then(|x| x["port"].as_i64())
        })?;
        Some(format!("{ip}:{p}"))
    })
}

/// A pod the selector picks that has an IP, at the Service port's target port.
async fn selected_pod_addr(
    ctx: &Ctx,
    ns: Option<&str>,
    sel: &serde_json::Map<String, Value>,
    sport: &Value,
) -> ApiResult<Option<String>> {
    let podres = find_resource("", "v1", "pods").ok_or_else(ApiError::no_route)?;
    let pods = ctx
        .state
        .store
        .list(&objects::list_prefix(podres, ns), None, 0, None)
        .await?;
    let target = sport
        .get("targetPort")
        .cloned()
        .unwrap_or_else(|| sport["port"].clone());
    for kv in &pods.items {
        let Ok(p) = objects::decode(kv) else { continue };
        let labels = objects::labels(&p);
        if !sel.iter().all(|(k, v)| labels.get(k) == Some(v)) {
            continue;
        }
        let Some(ip) = p
            .pointer("/status/podIP")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        else {
            continue;
        };
        let tp = match &target {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => pod_port(&p, Some(s)).ok(),
            _ => None,
        };
        if let Some(tp) = tp {
            return Ok(Some(format!("{ip}:{tp}")));
        }
    }
    Ok(None)
}

/// host:port behind a Service: from its Endpoints, else a pod its selector picks.
async fn service_backend(
    ctx: &Ctx,
    ns: Option<&str>,
    name: &str,
    port: Option<&str>,
) -> ApiResult<String> {
    let unavailable =
        || ApiError::unavailable(format!("no endpoints available for service \"{name}\""));
    let svc = load_named(ctx, "services", ns, name).await?;
    let sport = service_port(&svc, port).ok_or_else(unavailable)?;
    if let Ok(ep) = load_named(ctx, "endpoints", ns, name).await {
        if let Some(addr) = endpoints_addr(&ep, &sport) {
            return Ok(addr);
        }
    }
    // No Endpoints yet: pick a ready pod by the selector.
    let sel = svc
        .pointer("/spec/selector")
        .and_then(Value::as_object)
        .ok_or_else(unavailable)?;
    selected_pod_addr(ctx, ns, sel, &sport)
        .await?
        .ok_or_else(unavailable)
}
