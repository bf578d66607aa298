//! pods|services|nodes/NAME[:PORT]/proxy/PATH: the backend address (a pod's IP and port,
//! a Service's endpoint or selected pod, a node's kubelet), then the request forwarded
//! to it as the streaming subresources are.

use super::stream::{forward, kubelet_addr, load_named};
use super::Ctx;
use crate::httputil::Resp;
use crate::objects;
use crate::resources::find_resource;
use crate::status::{ApiError, ApiResult};
use http::Request;
use hyper::body::Incoming;
use serde_json::Value;

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
