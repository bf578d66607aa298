//! `kubectl expose` (a Service selecting a workload's pods) and `kubectl cluster-info`.

use crate::client::resources::Res;
use crate::client::Api;
use crate::cmd::options::{dry_run, with_dry_run, DryRun};
use crate::cmd::targets::objects;
use crate::ctx::{out, CmdError, CmdResult, Ctx};
use crate::flags::{f, Kind, Spec};
use crate::json_get::{arr, i, obj, s};
use crate::ordered_json::Doc;
use crate::print::format::parse_format;
use crate::print::outcome::{print_obj, print_result};
use http::Method;
use serde_json::{json, Map, Value};

/// Flags of `expose`.
pub const FLAGS: &[Spec] = &[
    f("port", None, Kind::Value),
    f("target-port", None, Kind::Value),
    f("type", None, Kind::Value),
    f("name", None, Kind::Value),
    f("protocol", None, Kind::Value),
    f("selector", None, Kind::Value),
    f("labels", Some('l'), Kind::Value),
    f("external-ip", None, Kind::Value),
    f("cluster-ip", None, Kind::Value),
    f("session-affinity", None, Kind::Value),
    f("load-balancer-ip", None, Kind::Value),
    f("output", Some('o'), Kind::Value),
    f("dry-run", None, Kind::Value),
    f("filename", Some('f'), Kind::Multi),
    f("override-type", None, Kind::Value),
    f("overrides", None, Kind::Value),
    f("field-manager", None, Kind::Value),
    f("template", None, Kind::Value),
    f("show-managed-fields", None, Kind::Bool),
    f("allow-missing-template-keys", None, Kind::Bool),
];

fn parse_map(spec: &str) -> Map<String, Value> {
    spec.split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect()
}

fn port_value(p: &str) -> Value {
    p.parse::<i64>()
        .map(Value::from)
        .unwrap_or_else(|_| json!(p))
}

/// Runs `expose`.
pub async fn expose(ctx: &Ctx) -> CmdResult {
    let mode = dry_run(ctx)?;
    parse_format(ctx, false)?;
    let api = Api::connect(ctx).await?;
    let args: Vec<String> = ctx.args().to_vec();
    for (res, o) in objects(ctx, &api, &args).await? {
        let selector = selector_of(ctx, &res, &o)?;
        let ports = ports_of(ctx, &res, &o);
        if ports.is_empty() {
            return Err(CmdError::Msg(
                "couldn't find port via --port flag or introspection".into(),
            ));
        }
        let name = ctx
            .p
            .get("name")
            .unwrap_or(s(&o, "/metadata/name"))
            .to_string();
        let labels = match ctx.p.get("labels") {
            Some(l) => parse_map(l),
            None => obj(&o, "/metadata/labels").cloned().unwrap_or_default(),
        };
        let svc = crate::cmd::options::apply_overrides(
            ctx,
            service(ctx, &name, labels, ports, selector),
        )?;
        if mode == DryRun::Client {
            print_result(ctx, &svc, "exposed", mode)?;
            continue;
        }
        let ns = s(&o, "/metadata/namespace");
        let ns = if ns.is_empty() {
            api.namespace.clone()
        } else {
            ns.to_string()
        };
        let created = api
            .send_json(
                Method::POST,
                &with_dry_run(
                    &format!("/api/v1/namespaces/{ns}/services?fieldManager=kubectl-expose"),
                    mode,
                ),
                "application/json",
                &svc.to_value(),
            )
            .await?;
        print_obj(ctx, &created, "exposed", mode)?;
    }
    Ok(())
}

/// `--selector`, else what the object selects: a Service's selector, a Pod's labels,
/// a workload's `matchLabels` (expressions cannot be expressed in a Service).
fn selector_of(ctx: &Ctx, res: &Res, o: &Value) -> Result<Map<String, Value>, CmdError> {
    if let Some(sel) = ctx.p.get("selector") {
        return Ok(parse_map(sel));
    }
    Ok(match res.kind.as_str() {
        "Service" => obj(o, "/spec/selector").cloned().unwrap_or_default(),
        "Pod" => obj(o, "/metadata/labels").cloned().unwrap_or_default(),
        _ => {
            if !arr(o, "/spec/selector/matchExpressions").is_empty() {
                return Err(CmdError::Msg(
                    "couldn't retrieve selectors via --selector flag or introspection: the selector uses matchExpressions, which are not supported by expose".into(),
                ));
            }
            obj(o, "/spec/selector/matchLabels")
                .cloned()
                .unwrap_or_default()
        }
    })
}

/// `--port` (with `--target-port`), else a Service's own ports, else every container
/// port (named `port-N` when there are several).
fn ports_of(ctx: &Ctx, res: &Res, o: &Value) -> Vec<Value> {
    let protocol = ctx.p.get("protocol").unwrap_or("TCP").to_string();
    let mut ports: Vec<Value> = Vec::new();
    if let Some(p) = ctx.p.get("port") {
        let mut port = json!({"protocol": protocol, "port": port_value(p)});
        let target = ctx.p.get("target-port").unwrap_or(p);
        port["targetPort"] = port_value(target);
        ports.push(port);
    } else if res.kind == "Service" {
        for sp in arr(o, "/spec/ports") {
            let mut p = json!({"protocol": s(sp, "/protocol"), "port": i(sp, "/port")});
            if let Some(t) = sp.get("targetPort") {
                p["targetPort"] = t.clone();
            }
            ports.push(p);
        }
    } else {
        let containers = if res.kind == "Pod" {
            arr(o, "/spec/containers")
        } else {
            arr(o, "/spec/template/spec/containers")
        };
        let all: Vec<&Value> = containers.iter().flat_map(|c| arr(c, "/ports")).collect();
        let multi = all.len() > 1;
        for (n, cp) in all.iter().enumerate() {
            let num = i(cp, "/containerPort");
            let proto = match s(cp, "/protocol") {
                "" => protocol.as_str(),
                x => x,
            };
            let mut p = json!({"protocol": proto, "port": num, "targetPort": num});
            if multi {
                p["name"] = json!(format!("port-{}", n + 1));
            }
            if let Some(t) = ctx.p.get("target-port") {
                p["targetPort"] = port_value(t);
            }
            ports.push(p);
        }
    }
    ports
}

/// The Service in Go's field order (kubectl prints generated objects that way).
fn service(
    ctx: &Ctx,
    name: &str,
    labels: Map<String, Value>,
    ports: Vec<Value>,
    selector: Map<String, Value>,
) -> Doc {
    let mut meta = Doc::obj()
        .with("name", Doc::s(name))
        .with("creationTimestamp", Doc::Null);
    if !labels.is_empty() {
        meta = meta.with("labels", Doc::from(&Value::Object(labels)));
    }
    let ports = ports
        .iter()
        .map(|p| {
            let mut d = Doc::obj();
            for k in ["name", "protocol", "port", "targetPort"] {
                if let Some(v) = p.get(k) {
                    d = d.with(k, Doc::from(v));
                }
            }
            d
        })
        .collect();
    let mut spec = Doc::obj()
        .with("ports", Doc::Arr(ports))
        .with("selector", Doc::from(&Value::Object(selector)));
    if let Some(ip) = ctx.p.get("cluster-ip") {
        spec = spec.with("clusterIP", Doc::s(ip));
    }
    if let Some(t) = ctx.p.get("type") {
        spec = spec.with("type", Doc::s(t));
    }
    if let Some(ip) = ctx.p.get("external-ip") {
        spec = spec.with("externalIPs", Doc::Arr(ip.split(',').map(Doc::s).collect()));
    }
    if let Some(a) = ctx.p.get("session-affinity") {
        spec = spec.with("sessionAffinity", Doc::s(a));
    }
    if let Some(ip) = ctx.p.get("load-balancer-ip").filter(|i| !i.is_empty()) {
        spec = spec.with("loadBalancerIP", Doc::s(ip));
    }
    Doc::obj()
        .with("kind", Doc::s("Service"))
        .with("apiVersion", Doc::s("v1"))
        .with("metadata", meta)
        .with("spec", spec)
        .with("status", Doc::obj().with("loadBalancer", Doc::obj()))
}

/// Runs `cluster-info`.
pub async fn cluster_info(ctx: &Ctx) -> CmdResult {
    let api = Api::connect(ctx).await?;
    let mut text = format!("Kubernetes control plane is running at {}\n", api.url);
    let list = api
        .get("/api/v1/namespaces/kube-system/services?labelSelector=kubernetes.io%2Fcluster-service%3Dtrue")
        .await
        .map_err(CmdError::from)?;
    for svc in arr(&list, "/items") {
        let name = s(svc, "/metadata/name");
        let title = match s(svc, "/metadata/labels/kubernetes.io~1name") {
            "" => name,
            t => t,
        };
        let ingress = s(svc, "/status/loadBalancer/ingress/0/ip");
        let link = if ingress.is_empty() {
            let port = arr(svc, "/spec/ports")
                .first()
                .map(|p| {
                    let n = s(p, "/name");
                    if n.is_empty() {
                        i(p, "/port").to_string()
                    } else {
                        n.to_string()
                    }
                })
                .unwrap_or_default();
            let port = if port.is_empty() {
                String::new()
            } else {
                format!(":{port}")
            };
            format!(
                "{}/api/v1/namespaces/kube-system/services/{name}{port}/proxy",
                api.url
            )
        } else {
            format!("http://{ingress}")
        };
        text.push_str(&format!("{title} is running at {link}\n"));
    }
    text.push_str(
        "\nTo further debug and diagnose cluster problems, use 'kubectl cluster-info dump'.\n",
    );
    out(&text);
    Ok(())
}
