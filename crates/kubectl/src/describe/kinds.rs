//! Describers for Deployments, ReplicaSets, Services and Namespaces, laid out like
//! upstream's (field order, `<none>` texts, condition tables).

use crate::describe::pod::template;
use crate::describe::util::{
    annotations, controller_of, events, format_label_selector, format_labels, labels, rfc1123z,
    selector_string,
};
use crate::describe::writer::GoTab;
use crate::json_get::{arr, gv, i, obj, s};
use serde_json::Value;

fn conditions(w: &mut GoTab, o: &Value) {
    let conds = arr(o, "/status/conditions");
    if conds.is_empty() {
        return;
    }
    w.w(0, "Conditions:\n  Type\tStatus\tReason\n");
    w.w(1, "----\t------\t------\n");
    for c in conds {
        w.w(
            1,
            &format!(
                "{} \t{}\t{}\n",
                s(c, "/type"),
                s(c, "/status"),
                s(c, "/reason")
            ),
        );
    }
}

fn rs_list(list: &[&Value]) -> String {
    if list.is_empty() {
        return "<none>".into();
    }
    list.iter()
        .map(|r| {
            format!(
                "{} ({}/{} replicas created)",
                s(r, "/metadata/name"),
                i(r, "/status/replicas"),
                r.pointer("/spec/replicas")
                    .and_then(Value::as_i64)
                    .unwrap_or(1)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Splits a Deployment's ReplicaSets into (old, new) like deploymentutil.GetAllReplicaSets.
pub fn split_replicasets<'a>(d: &Value, all: &'a [Value]) -> (Vec<&'a Value>, Option<&'a Value>) {
    let uid = s(d, "/metadata/uid");
    let owned: Vec<&Value> = all
        .iter()
        .filter(|r| {
            arr(r, "/metadata/ownerReferences").iter().any(|o| {
                s(o, "/uid") == uid && o.get("controller").and_then(Value::as_bool) == Some(true)
            })
        })
        .collect();
    let strip = |t: Option<&Value>| {
        let mut t = t.cloned().unwrap_or(Value::Null);
        if let Some(m) = t
            .pointer_mut("/metadata/labels")
            .and_then(Value::as_object_mut)
        {
            m.remove("pod-template-hash");
        }
        t
    };
    let want = strip(d.pointer("/spec/template"));
    let mut news: Vec<&Value> = owned
        .iter()
        .copied()
        .filter(|r| strip(r.pointer("/spec/template")) == want)
        .collect();
    news.sort_by_key(|r| s(r, "/metadata/creationTimestamp").to_string());
    let new = news.first().copied();
    let old = owned
        .into_iter()
        .filter(|r| new.is_none_or(|n| s(n, "/metadata/uid") != s(r, "/metadata/uid")))
        .collect();
    (old, new)
}

/// `describeDeployment`.
pub fn deployment(d: &Value, rss: &[Value], evs: Option<&[Value]>) -> String {
    let mut w = GoTab::new();
    w.w(0, &format!("Name:\t{}\n", s(d, "/metadata/name")));
    w.w(0, &format!("Namespace:\t{}\n", s(d, "/metadata/namespace")));
    w.w(
        0,
        &format!(
            "CreationTimestamp:\t{}\n",
            rfc1123z(s(d, "/metadata/creationTimestamp"))
        ),
    );
    labels(&mut w, "Labels", obj(d, "/metadata/labels"));
    annotations(&mut w, "Annotations", obj(d, "/metadata/annotations"));
    w.w(
        0,
        &format!(
            "Selector:\t{}\n",
            selector_string(d.pointer("/spec/selector"))
        ),
    );
    w.w(
        0,
        &format!(
            "Replicas:\t{} desired | {} updated | {} total | {} available | {} unavailable\n",
            d.pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(1),
            i(d, "/status/updatedReplicas"),
            i(d, "/status/replicas"),
            i(d, "/status/availableReplicas"),
            i(d, "/status/unavailableReplicas")
        ),
    );
    w.w(
        0,
        &format!("StrategyType:\t{}\n", s(d, "/spec/strategy/type")),
    );
    w.w(
        0,
        &format!("MinReadySeconds:\t{}\n", i(d, "/spec/minReadySeconds")),
    );
    if let Some(ru) = d.pointer("/spec/strategy/rollingUpdate") {
        w.w(
            0,
            &format!(
                "RollingUpdateStrategy:\t{} max unavailable, {} max surge\n",
                gv(ru.get("maxUnavailable")),
                gv(ru.get("maxSurge"))
            ),
        );
    }
    template(&mut w, d.pointer("/spec/template"));
    conditions(&mut w, d);
    let (old, new) = split_replicasets(d, rss);
    if !old.is_empty() || new.is_some() {
        w.w(0, &format!("OldReplicaSets:\t{}\n", rs_list(&old)));
        w.w(
            0,
            &format!(
                "NewReplicaSet:\t{}\n",
                rs_list(&new.into_iter().collect::<Vec<_>>())
            ),
        );
    }
    if let Some(evs) = evs {
        events(&mut w, evs);
    }
    w.finish()
}

/// `describeReplicaSet`; `pods` are the pods it controls.
pub fn replicaset(rs: &Value, pods: &[Value], evs: Option<&[Value]>) -> String {
    let mut w = GoTab::new();
    w.w(0, &format!("Name:\t{}\n", s(rs, "/metadata/name")));
    w.w(
        0,
        &format!("Namespace:\t{}\n", s(rs, "/metadata/namespace")),
    );
    w.w(
        0,
        &format!(
            "Selector:\t{}\n",
            format_label_selector(rs.pointer("/spec/selector"))
        ),
    );
    labels(&mut w, "Labels", obj(rs, "/metadata/labels"));
    annotations(&mut w, "Annotations", obj(rs, "/metadata/annotations"));
    if let Some(c) = controller_of(rs) {
        w.w(0, &format!("Controlled By:\t{c}\n"));
    }
    w.w(
        0,
        &format!(
            "Replicas:\t{} current / {} desired\n",
            i(rs, "/status/replicas"),
            rs.pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(1)
        ),
    );
    let count = |ph: &str| pods.iter().filter(|p| s(p, "/status/phase") == ph).count();
    w.w(
        0,
        &format!(
            "Pods Status:\t{} Running / {} Waiting / {} Succeeded / {} Failed\n",
            count("Running"),
            count("Pending"),
            count("Succeeded"),
            count("Failed")
        ),
    );
    template(&mut w, rs.pointer("/spec/template"));
    conditions(&mut w, rs);
    if let Some(evs) = evs {
        events(&mut w, evs);
    }
    w.finish()
}

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
    for p in arr(svc, "/spec/ports") {
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
    if let Some(evs) = evs {
        events(&mut w, evs);
    }
    w.finish()
}

/// `describeNamespace`; quota/limit lists are None when the server lacks them.
pub fn namespace(ns: &Value, quotas: Option<&[Value]>, limits: Option<&[Value]>) -> String {
    let mut w = GoTab::new();
    w.w(0, &format!("Name:\t{}\n", s(ns, "/metadata/name")));
    labels(&mut w, "Labels", obj(ns, "/metadata/labels"));
    annotations(&mut w, "Annotations", obj(ns, "/metadata/annotations"));
    w.w(0, &format!("Status:\t{}\n", s(ns, "/status/phase")));
    let conds = arr(ns, "/status/conditions");
    if !conds.is_empty() {
        w.w(0, "Conditions:\n");
        w.w(1, "Type\tStatus\tLastTransitionTime\tReason\tMessage\n");
        w.w(1, "----\t------\t------------------\t------\t-------\n");
        for c in conds {
            w.w(
                1,
                &format!(
                    "{}\t{}\t{}\t{}\t{}\n",
                    s(c, "/type"),
                    s(c, "/status"),
                    rfc1123z(s(c, "/lastTransitionTime")),
                    s(c, "/reason"),
                    s(c, "/message")
                ),
            );
        }
    }
    if let Some(q) = quotas {
        w.w(0, "\n");
        if q.is_empty() {
            w.w(0, "No resource quota.\n");
        } else {
            for r in q {
                w.w(
                    0,
                    &format!("Resource Quotas\n  Name:\t{}\n", s(r, "/metadata/name")),
                );
            }
        }
    }
    if let Some(l) = limits {
        w.w(0, "\n");
        if l.is_empty() {
            w.w(0, "No LimitRange resource.\n");
        } else {
            for r in l {
                w.w(
                    0,
                    &format!("Resource Limits\n  Name:\t{}\n", s(r, "/metadata/name")),
                );
            }
        }
    }
    w.finish()
}
