//! Describers for Deployments, ReplicaSets and Namespaces, laid out like upstream's
//! (field order, `<none>` texts, condition tables); Services are in `describe::service`.

use crate::describe::pod::template;
use crate::describe::util::{
    annotations, controller_of, events, format_label_selector, labels, rfc1123z, selector_string,
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
