//! The Node describer: roles, taints, lease, conditions, addresses, capacity, system
//! info, non-terminated pods with their requests/limits and the allocation summary.

use crate::describe::util::{annotations, events, labels, rfc1123z, since, taints};
use crate::describe::writer::GoTab;
use crate::json_get::{arr, gv, obj, s};
use serde_json::{Map, Value};
use skiff_api::quantity::{Format, Quantity};
use skiff_api::resources::{
    add_into, from_json, pod_limits_json, pod_requests_json, PodResourcesOptions, ResourceList,
};

/// A pod's effective requests and limits (upstream's `PodRequestsAndLimits`: containers,
/// init containers and sidecars, plus overhead), from the one rule in skiff-api.
fn pod_requests_and_limits(p: &Value) -> (ResourceList, ResourceList) {
    let opts = PodResourcesOptions::default();
    (pod_requests_json(p, &opts), pod_limits_json(p, &opts))
}

/// `list[name]`, or zero (Go's zero Quantity prints "0").
fn amount(list: &ResourceList, name: &str) -> Quantity {
    list.get(name)
        .copied()
        .unwrap_or(Quantity::zero(Format::DecimalSi))
}

/// `int64(float64(part) / float64(total) * 100)`, 0 when the total is 0, as kubectl prints it;
/// CPU compares milli-values, the rest whole values.
fn pct(part: &Quantity, total: &Quantity, cpu: bool) -> i64 {
    let (p, t) = if cpu {
        (part.milli_value(), total.milli_value())
    } else {
        (part.value(), total.value())
    };
    if t == 0 {
        0
    } else {
        (p as f64 / t as f64 * 100.0) as i64
    }
}

/// `amount (pct%)` of one resource, as the Node describer prints it.
fn with_pct(q: &Quantity, total: &Quantity, cpu: bool) -> String {
    format!("{q} ({}%)", pct(q, total, cpu))
}

fn resource_list(w: &mut GoTab, m: &Map<String, Value>) {
    let mut names: Vec<&String> = m.keys().collect();
    names.sort();
    for n in names {
        w.w(0, &format!("  {n}:\t{}\n", gv(m.get(n))));
    }
}

/// `describeNode`; `lease` is Err(message) when it could not be read.
pub fn node(
    n: &Value,
    pods: &[Value],
    lease: Result<&Value, String>,
    evs: Option<&[Value]>,
) -> String {
    let mut w = GoTab::new();
    w.w(0, &format!("Name:\t{}\n", s(n, "/metadata/name")));
    w.w(0, &format!("Roles:\t{}\n", roles(n)));
    labels(&mut w, "Labels", obj(n, "/metadata/labels"));
    annotations(&mut w, "Annotations", obj(n, "/metadata/annotations"));
    w.w(
        0,
        &format!(
            "CreationTimestamp:\t{}\n",
            rfc1123z(s(n, "/metadata/creationTimestamp"))
        ),
    );
    taints(&mut w, "Taints", arr(n, "/spec/taints"));
    let unsched = n.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true);
    w.w(0, &format!("Unschedulable:\t{unsched}\n"));
    lease_block(&mut w, lease);
    conditions(&mut w, arr(n, "/status/conditions"));
    w.w(0, "Addresses:\n");
    for a in arr(n, "/status/addresses") {
        w.w(1, &format!("{}:\t{}\n", s(a, "/type"), s(a, "/address")));
    }
    for (ptr, title) in [
        ("/status/capacity", "Capacity"),
        ("/status/allocatable", "Allocatable"),
    ] {
        if let Some(m) = obj(n, ptr).filter(|m| !m.is_empty()) {
            w.w(0, &format!("{title}:\n"));
            resource_list(&mut w, m);
        }
    }
    system_info(&mut w, n);
    node_resources(&mut w, n, pods);
    if let Some(evs) = evs {
        events(&mut w, evs);
    }
    w.finish()
}

/// The roles from `node-role.kubernetes.io/ROLE` and `kubernetes.io/role` labels,
/// sorted and comma-joined (`<none>` without any).
fn roles(n: &Value) -> String {
    let mut roles: Vec<String> = obj(n, "/metadata/labels")
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| {
                    if let Some(r) = k.strip_prefix("node-role.kubernetes.io/") {
                        (!r.is_empty()).then(|| r.to_string())
                    } else if k == "kubernetes.io/role" {
                        Some(gv(Some(v)))
                    } else {
                        None
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    roles.sort();
    if roles.is_empty() {
        "<none>".into()
    } else {
        roles.join(",")
    }
}

/// The node's Lease: holder, acquire and renew times, or why it could not be read.
fn lease_block(w: &mut GoTab, lease: Result<&Value, String>) {
    let l = match lease {
        Err(e) => {
            w.w(0, &format!("Lease:\tFailed to get lease: {e}\n"));
            return;
        }
        Ok(l) => l,
    };
    let or_unset = |t: &str, time: bool| match t {
        "" => "<unset>".to_string(),
        t if time => rfc1123z(t),
        t => t.to_string(),
    };
    w.w(0, "Lease:\n");
    w.w(
        1,
        &format!(
            "HolderIdentity:\t{}\n",
            or_unset(s(l, "/spec/holderIdentity"), false)
        ),
    );
    w.w(
        1,
        &format!(
            "AcquireTime:\t{}\n",
            or_unset(s(l, "/spec/acquireTime"), true)
        ),
    );
    w.w(
        1,
        &format!("RenewTime:\t{}\n", or_unset(s(l, "/spec/renewTime"), true)),
    );
}

/// The Conditions table (nothing when the node reports none).
fn conditions(w: &mut GoTab, conds: &[Value]) {
    if conds.is_empty() {
        return;
    }
    w.w(
        0,
        "Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage\n",
    );
    w.w(
        1,
        "----\t------\t-----------------\t------------------\t------\t-------\n",
    );
    for c in conds {
        w.w(
            1,
            &format!(
                "{} \t{} \t{} \t{} \t{} \t{}\n",
                s(c, "/type"),
                s(c, "/status"),
                rfc1123z(s(c, "/lastHeartbeatTime")),
                rfc1123z(s(c, "/lastTransitionTime")),
                s(c, "/reason"),
                s(c, "/message")
            ),
        );
    }
}

/// System Info from `status.nodeInfo`, then PodCIDR(s) and ProviderID when set.
fn system_info(w: &mut GoTab, n: &Value) {
    w.w(0, "System Info:\n");
    for (k, t) in [
        ("machineID", "Machine ID"),
        ("systemUUID", "System UUID"),
        ("bootID", "Boot ID"),
        ("kernelVersion", "Kernel Version"),
        ("osImage", "OS Image"),
        ("operatingSystem", "Operating System"),
        ("architecture", "Architecture"),
        ("containerRuntimeVersion", "Container Runtime Version"),
        ("kubeletVersion", "Kubelet Version"),
        ("kubeProxyVersion", "Kube-Proxy Version"),
    ] {
        w.w(
            0,
            &format!("  {t}:\t{}\n", s(n, &format!("/status/nodeInfo/{k}"))),
        );
    }
    let cidr = s(n, "/spec/podCIDR");
    if !cidr.is_empty() {
        w.w(0, &format!("PodCIDR:\t{cidr}\n"));
    }
    let cidrs: Vec<String> = arr(n, "/spec/podCIDRs")
        .iter()
        .map(|v| gv(Some(v)))
        .collect();
    if !cidrs.is_empty() {
        w.w(0, &format!("PodCIDRs:\t{}\n", cidrs.join(",")));
    }
    let pid = s(n, "/spec/providerID");
    if !pid.is_empty() {
        w.w(0, &format!("ProviderID:\t{pid}\n"));
    }
}

fn node_resources(w: &mut GoTab, n: &Value, pods: &[Value]) {
    w.w(
        0,
        &format!("Non-terminated Pods:\t({} in total)\n", pods.len()),
    );
    w.w(
        1,
        "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge\n",
    );
    w.w(
        1,
        "---------\t----\t\t------------\t----------\t---------------\t-------------\t---\n",
    );
    let alloc = obj(n, "/status/allocatable")
        .filter(|m| !m.is_empty())
        .or_else(|| obj(n, "/status/capacity"));
    let raw_alloc = alloc;
    let alloc = from_json(raw_alloc.map(|m| Value::Object(m.clone())).as_ref());
    let (mut total_req, mut total_lim) = (ResourceList::new(), ResourceList::new());
    for p in pods {
        let (req, lim) = pod_requests_and_limits(p);
        add_into(&mut total_req, &req);
        add_into(&mut total_lim, &lim);
        let cell = |list: &ResourceList, name: &str| {
            with_pct(&amount(list, name), &amount(&alloc, name), name == "cpu")
        };
        w.w(
            1,
            &format!(
                "{}\t{}\t\t{}\t{}\t{}\t{}\t{}\n",
                s(p, "/metadata/namespace"),
                s(p, "/metadata/name"),
                cell(&req, "cpu"),
                cell(&lim, "cpu"),
                cell(&req, "memory"),
                cell(&lim, "memory"),
                since(s(p, "/metadata/creationTimestamp"))
            ),
        );
    }
    w.w(
        0,
        "Allocated resources:\n  (Total limits may be over 100 percent, i.e., overcommitted.)\n",
    );
    w.w(1, "Resource\tRequests\tLimits\n");
    w.w(1, "--------\t--------\t------\n");
    for name in ["cpu", "memory", "ephemeral-storage"] {
        let total = amount(&alloc, name);
        let cpu = name == "cpu";
        w.w(
            1,
            &format!(
                "{name}\t{}\t{}\n",
                with_pct(&amount(&total_req, name), &total, cpu),
                with_pct(&amount(&total_lim, name), &total, cpu)
            ),
        );
    }
    let mut huge: Vec<&String> = raw_alloc
        .map(|m| m.keys().filter(|k| k.starts_with("hugepages-")).collect())
        .unwrap_or_default();
    huge.sort();
    for h in huge {
        w.w(1, &format!("{h}\t0 (0%)\t0 (0%)\n"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_limits_and_percentages_follow_upstream() {
        let pod = serde_json::json!({"spec": {
            "containers": [
                {"resources": {"requests": {"cpu": "250m", "memory": "128Mi"}}},
                {"resources": {"requests": {"cpu": "250m", "memory": "128Mi"},
                               "limits": {"memory": "1Gi"}}}
            ],
            "initContainers": [{"resources": {"requests": {"cpu": "2"}}}],
            "overhead": {"cpu": "100m"}
        }});
        let (req, lim) = pod_requests_and_limits(&pod);
        assert_eq!(amount(&req, "cpu").to_string(), "2100m");
        assert_eq!(amount(&req, "memory").to_string(), "256Mi");
        assert_eq!(amount(&lim, "memory").to_string(), "1Gi");
        assert_eq!(amount(&lim, "cpu").to_string(), "0");
        let two_cpus: Quantity = "2".parse().unwrap_or(Quantity::zero(Format::DecimalSi));
        assert_eq!(
            with_pct(&amount(&req, "cpu"), &two_cpus, true),
            "2100m (105%)"
        );
        let zero = Quantity::zero(Format::DecimalSi);
        assert_eq!(with_pct(&amount(&req, "cpu"), &zero, true), "2100m (0%)");
    }
}
