//! The Node describer: roles, taints, lease, conditions, addresses, capacity, system
//! info, non-terminated pods with their requests/limits and the allocation summary.

use crate::describe::util::{annotations, events, labels, rfc1123z, since, taints};
use crate::describe::writer::GoTab;
use crate::json_get::{arr, gv, obj, s};
use serde_json::{Map, Value};

/// A quantity in milli-units (cpu) or units, with whether it used a binary suffix.
fn parse_qty(q: &str) -> Option<(f64, bool)> {
    let q = q.trim();
    let idx = q.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(q.len());
    let (num, suf) = q.split_at(idx);
    let n: f64 = num.parse().ok()?;
    let (mul, bin) = match suf {
        "" => (1.0, false),
        "m" => (0.001, false),
        "k" => (1e3, false),
        "M" => (1e6, false),
        "G" => (1e9, false),
        "T" => (1e12, false),
        "P" => (1e15, false),
        "E" => (1e18, false),
        "Ki" => (1024.0, true),
        "Mi" => (1024f64.powi(2), true),
        "Gi" => (1024f64.powi(3), true),
        "Ti" => (1024f64.powi(4), true),
        "Pi" => (1024f64.powi(5), true),
        "Ei" => (1024f64.powi(6), true),
        _ => return None,
    };
    Some((n * mul, bin))
}

/// Formats a sum of quantities roughly like resource.Quantity.String().
fn format_qty(v: f64, binary: bool, cpu: bool) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if cpu {
        let milli = (v * 1000.0).round() as i64;
        return if milli % 1000 == 0 {
            (milli / 1000).to_string()
        } else {
            format!("{milli}m")
        };
    }
    let n = v.round() as i64;
    let units: &[(&str, i64)] = if binary {
        &[
            ("Ei", 1 << 60),
            ("Pi", 1 << 50),
            ("Ti", 1 << 40),
            ("Gi", 1 << 30),
            ("Mi", 1 << 20),
            ("Ki", 1 << 10),
        ]
    } else {
        &[
            ("E", 1_000_000_000_000_000_000),
            ("P", 1_000_000_000_000_000),
            ("T", 1_000_000_000_000),
            ("G", 1_000_000_000),
            ("M", 1_000_000),
            ("k", 1_000),
        ]
    };
    for (suf, m) in units {
        if n % m == 0 {
            return format!("{}{suf}", n / m);
        }
    }
    n.to_string()
}

#[derive(Default, Clone, Copy)]
struct Sum {
    v: f64,
    binary: bool,
}

fn pod_resources(p: &Value, kind: &str, name: &str) -> Sum {
    // max(sum of containers, each init container) + overhead
    let get = |c: &Value| {
        c.pointer(&format!("/resources/{kind}/{name}"))
            .and_then(|q| parse_qty(&gv(Some(q))))
    };
    let mut sum = Sum::default();
    for c in arr(p, "/spec/containers") {
        if let Some((v, b)) = get(c) {
            sum.v += v;
            sum.binary |= b;
        }
    }
    for c in arr(p, "/spec/initContainers") {
        if let Some((v, b)) = get(c) {
            if v > sum.v {
                sum = Sum { v, binary: b };
            }
        }
    }
    if let Some((v, b)) = p
        .pointer(&format!("/spec/overhead/{name}"))
        .and_then(|q| parse_qty(&gv(Some(q))))
    {
        sum.v += v;
        sum.binary |= b;
    }
    sum
}

fn alloc_of(alloc: Option<&Map<String, Value>>, name: &str) -> f64 {
    alloc
        .and_then(|m| m.get(name))
        .and_then(|q| parse_qty(&gv(Some(q))))
        .map(|x| x.0)
        .unwrap_or(0.0)
}

fn pct(v: f64, total: f64) -> i64 {
    if total == 0.0 {
        0
    } else {
        (v / total * 100.0) as i64
    }
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
    let (acpu, amem) = (alloc_of(alloc, "cpu"), alloc_of(alloc, "memory"));
    let mut tot = [Sum::default(); 6];
    for p in pods {
        let cr = pod_resources(p, "requests", "cpu");
        let cl = pod_resources(p, "limits", "cpu");
        let mr = pod_resources(p, "requests", "memory");
        let ml = pod_resources(p, "limits", "memory");
        let er = pod_resources(p, "requests", "ephemeral-storage");
        let el = pod_resources(p, "limits", "ephemeral-storage");
        for (t, x) in tot.iter_mut().zip([cr, cl, mr, ml, er, el]) {
            t.v += x.v;
            t.binary |= x.binary;
        }
        w.w(
            1,
            &format!(
                "{}\t{}\t\t{} ({}%)\t{} ({}%)\t{} ({}%)\t{} ({}%)\t{}\n",
                s(p, "/metadata/namespace"),
                s(p, "/metadata/name"),
                format_qty(cr.v, false, true),
                pct(cr.v, acpu),
                format_qty(cl.v, false, true),
                pct(cl.v, acpu),
                format_qty(mr.v, mr.binary, false),
                pct(mr.v, amem),
                format_qty(ml.v, ml.binary, false),
                pct(ml.v, amem),
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
    let aeph = alloc_of(alloc, "ephemeral-storage");
    for (name, r, l, total, cpu) in [
        ("cpu", tot[0], tot[1], acpu, true),
        ("memory", tot[2], tot[3], amem, false),
        ("ephemeral-storage", tot[4], tot[5], aeph, false),
    ] {
        w.w(
            1,
            &format!(
                "{name}\t{} ({}%)\t{} ({}%)\n",
                format_qty(r.v, r.binary, cpu),
                pct(r.v, total),
                format_qty(l.v, l.binary, cpu),
                pct(l.v, total)
            ),
        );
    }
    let mut huge: Vec<&String> = alloc
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
    fn quantities() {
        assert_eq!(format_qty(0.25, false, true), "250m");
        assert_eq!(format_qty(2.0, false, true), "2");
        let (v, b) = parse_qty("128Mi").unwrap_or((0.0, false));
        assert_eq!(format_qty(v * 2.0, b, false), "256Mi");
        assert_eq!(format_qty(0.0, false, false), "0");
    }
}
