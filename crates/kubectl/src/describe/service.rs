//! The Service describer: selector, addresses, each port with up to three of its
//! endpoints (from the EndpointSlices), traffic policies and events.

use crate::describe::util::{annotations, events, format_labels, labels};
use crate::describe::writer::GoTab;
use crate::json_get::{arr, gv, i, obj, s};
use serde_json::Value;

/// The ready addresses behind a service port (`ADDR:PORT`, three at most, then
/// `+ N more...`), or `<none>`.
fn endpoints(slices: &[Value], port_name: &str) -> String {
    if slices.is_empty() {
        return "<none>".into();
    }
    let (max, mut list, mut count) = (3, Vec::new(), 0);
    for sl in slices {
        let eps = arr(sl, "/endpoints");
        let ports = arr(sl, "/ports");
        if ports.is_empty() {
            for e in eps {
                if list.len() < max {
                    list.push(s(e, "/addresses/0").to_string());
                }
                count += 1;
            }
            continue;
        }
        for p in ports {
            if s(p, "/name") != port_name {
                continue;
            }
            for e in eps {
                if list.len() < max {
                    let a = s(e, "/addresses/0");
                    let port = i(p, "/port");
                    list.push(if a.contains(':') {
                        format!("[{a}]:{port}")
                    } else {
                        format!("{a}:{port}")
                    });
                }
                count += 1;
            }
        }
    }
    let ret = list.join(",");
    if count > max {
        format!("{ret} + {} more...", count - max)
    } else {
        ret
    }
}

/// `describeService`; `slices` are its EndpointSlices.
pub fn service(svc: &Value, slices: &[Value], evs: Option<&[Value]>) -> String {
    let mut w = GoTab::new();
    w.w(0, &format!("Name:\t{}\n", s(svc, "/metadata/name")));
    w.w(
        0,
        &format!("Namespace:\t{}\n", s(svc, "/metadata/namespace")),
    );
    labels(&mut w, "Labels", obj(svc, "/metadata/labels"));
    annotations(&mut w, "Annotations", obj(svc, "/metadata/annotations"));
    w.w(
        0,
        &format!("Selector:\t{}\n", format_labels(obj(svc, "/spec/selector"))),
    );
    w.w(0, &format!("Type:\t{}\n", s(svc, "/spec/type")));
    addresses(&mut w, svc);
    for p in arr(svc, "/spec/ports") {
        port(&mut w, p, slices);
    }
    traffic(&mut w, svc);
    if let Some(evs) = evs {
        events(&mut w, evs);
    }
    w.finish()
}

/// IP family policy and families, cluster IPs, external IPs and name, the load
/// balancer's IP and ingress points.
fn addresses(w: &mut GoTab, svc: &Value) {
    let pol = s(svc, "/spec/ipFamilyPolicy");
    if !pol.is_empty() {
        w.w(0, &format!("IP Family Policy:\t{pol}\n"));
    }
    let join = |ptr: &str| {
        let v: Vec<String> = arr(svc, ptr).iter().map(|x| gv(Some(x))).collect();
        if v.is_empty() {
            "<none>".to_string()
        } else {
            v.join(",")
        }
    };
    w.w(0, &format!("IP Families:\t{}\n", join("/spec/ipFamilies")));
    w.w(0, &format!("IP:\t{}\n", s(svc, "/spec/clusterIP")));
    w.w(0, &format!("IPs:\t{}\n", join("/spec/clusterIPs")));
    if !arr(svc, "/spec/externalIPs").is_empty() {
        w.w(
            0,
            &format!("External IPs:\t{}\n", join("/spec/externalIPs")),
        );
    }
    let lb = s(svc, "/spec/loadBalancerIP");
    if !lb.is_empty() {
        w.w(0, &format!("IP:\t{lb}\n"));
    }
    let en = s(svc, "/spec/externalName");
    if !en.is_empty() {
        w.w(0, &format!("External Name:\t{en}\n"));
    }
    let ingress: Vec<String> = arr(svc, "/status/loadBalancer/ingress")
        .iter()
        .map(|x| {
            let ip = s(x, "/ip");
            if ip.is_empty() {
                s(x, "/hostname").to_string()
            } else {
                ip.to_string()
            }
        })
        .collect();
    if !ingress.is_empty() {
        w.w(
            0,
            &format!("LoadBalancer Ingress:\t{}\n", ingress.join(", ")),
        );
    }
}

/// One service port: port, target port, node port and its endpoints.
fn port(w: &mut GoTab, p: &Value, slices: &[Value]) {
    let name = match s(p, "/name") {
        "" => "<unset>",
        n => n,
    };
    let proto = s(p, "/protocol");
    w.w(0, &format!("Port:\t{name}\t{}/{proto}\n", i(p, "/port")));
    w.w(
        0,
        &format!("TargetPort:\t{}/{proto}\n", gv(p.get("targetPort"))),
    );
    if i(p, "/nodePort") != 0 {
        w.w(
            0,
            &format!("NodePort:\t{name}\t{}/{proto}\n", i(p, "/nodePort")),
        );
    }
    w.w(
        0,
        &format!("Endpoints:\t{}\n", endpoints(slices, s(p, "/name"))),
    );
}

/// Session affinity, traffic policies and the health-check node port.
fn traffic(w: &mut GoTab, svc: &Value) {
    w.w(
        0,
        &format!("Session Affinity:\t{}\n", s(svc, "/spec/sessionAffinity")),
    );
    let etp = s(svc, "/spec/externalTrafficPolicy");
    if !etp.is_empty() {
        w.w(0, &format!("External Traffic Policy:\t{etp}\n"));
    }
    if i(svc, "/spec/healthCheckNodePort") != 0 {
        w.w(
            0,
            &format!(
                "HealthCheck NodePort:\t{}\n",
                i(svc, "/spec/healthCheckNodePort")
            ),
        );
    }
    let itp = s(svc, "/spec/internalTrafficPolicy");
    if !itp.is_empty() {
        w.w(0, &format!("Internal Traffic Policy:\t{itp}\n"));
    }
}
