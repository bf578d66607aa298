//! Table-driven tests for every printer, compared with what upstream's printers produce.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::duration::parse_time;
use super::*;
use crate::registry::find_resource;

fn now() -> DateTime<Utc> {
    parse_time("2024-05-01T12:00:00Z").expect("time")
}

fn ago(secs: i64) -> String {
    (now() - chrono::Duration::seconds(secs))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn row(group: &str, plural: &str, obj: Value) -> Vec<Value> {
    let res = find_resource(group, "v1", plural).expect("resource");
    let c = cells(res, &obj, now());
    assert_eq!(
        c.len(),
        columns(res).len(),
        "cells match columns for {plural}"
    );
    c
}

fn names(group: &str, plural: &str) -> Vec<(&'static str, i32)> {
    let res = find_resource(group, "v1", plural).expect("resource");
    columns(res).iter().map(|c| (c.name, c.priority)).collect()
}

#[test]
fn column_sets_match_upstream() {
    assert_eq!(
        names("", "pods"),
        vec![
            ("Name", 0),
            ("Ready", 0),
            ("Status", 0),
            ("Restarts", 0),
            ("Age", 0),
            ("IP", 1),
            ("Node", 1),
            ("Nominated Node", 1),
            ("Readiness Gates", 1)
        ]
    );
    assert_eq!(
        names("", "nodes"),
        vec![
            ("Name", 0),
            ("Status", 0),
            ("Roles", 0),
            ("Age", 0),
            ("Version", 0),
            ("Internal-IP", 1),
            ("External-IP", 1),
            ("OS-Image", 1),
            ("Kernel-Version", 1),
            ("Container-Runtime", 1)
        ]
    );
    assert_eq!(
        names("apps", "deployments"),
        vec![
            ("Name", 0),
            ("Ready", 0),
            ("Up-to-date", 0),
            ("Available", 0),
            ("Age", 0),
            ("Containers", 1),
            ("Images", 1),
            ("Selector", 1)
        ]
    );
    assert_eq!(
        names("apps", "replicasets"),
        vec![
            ("Name", 0),
            ("Desired", 0),
            ("Current", 0),
            ("Ready", 0),
            ("Age", 0),
            ("Containers", 1),
            ("Images", 1),
            ("Selector", 1)
        ]
    );
    assert_eq!(
        names("", "services"),
        vec![
            ("Name", 0),
            ("Type", 0),
            ("Cluster-IP", 0),
            ("External-IP", 0),
            ("Port(s)", 0),
            ("Age", 0),
            ("Selector", 1)
        ]
    );
    assert_eq!(
        names("", "events"),
        vec![
            ("Last Seen", 0),
            ("Type", 0),
            ("Reason", 0),
            ("Object", 0),
            ("Subobject", 1),
            ("Source", 1),
            ("Message", 0),
            ("First Seen", 1),
            ("Count", 1),
            ("Name", 1)
        ]
    );
    assert_eq!(names("events.k8s.io", "events"), names("", "events"));
    assert_eq!(
        names("", "namespaces"),
        vec![("Name", 0), ("Status", 0), ("Age", 0)]
    );
    assert_eq!(
        names("", "configmaps"),
        vec![("Name", 0), ("Data", 0), ("Age", 0)]
    );
    assert_eq!(
        names("", "secrets"),
        vec![("Name", 0), ("Type", 0), ("Data", 0), ("Age", 0)]
    );
    assert_eq!(
        names("", "serviceaccounts"),
        vec![("Name", 0), ("Secrets", 0), ("Age", 0)]
    );
    assert_eq!(
        names("", "endpoints"),
        vec![("Name", 0), ("Endpoints", 0), ("Age", 0)]
    );
    assert_eq!(
        names("coordination.k8s.io", "leases"),
        vec![("Name", 0), ("Holder", 0), ("Age", 0)]
    );
    let pods = find_resource("", "v1", "pods").expect("pods");
    let cols = columns(pods);
    assert_eq!(cols[0].format, "name");
    assert_eq!(cols[3].type_, "string");
    let d = columns(find_resource("apps", "v1", "deployments").expect("d"));
    assert_eq!(d[2].type_, "integer");
}

fn pod(status: Value) -> Value {
    json!({
        "metadata": {"name": "web", "creationTimestamp": ago(200)},
        "spec": {"containers": [{"name": "a"}], "nodeName": "n1"},
        "status": status,
    })
}

#[test]
fn pod_rows() {
    struct Case {
        name: &'static str,
        pod: Value,
        want: &'static [&'static str],
    }
    let cases = vec![
        Case {
            name: "pending unscheduled",
            pod: json!({"metadata": {"name": "p", "creationTimestamp": ago(5)}, "spec": {"containers": [{"name": "a"}]}, "status": {"phase": "Pending"}}),
            want: &[
                "p", "0/1", "Pending", "0", "5s", "<none>", "<none>", "<none>", "<none>",
            ],
        },
        Case {
            name: "running ready",
            pod: pod(
                json!({"phase": "Running", "podIP": "10.42.0.5", "podIPs": [{"ip": "10.42.0.5"}],
                "containerStatuses": [{"name": "a", "ready": true, "restartCount": 0, "state": {"running": {"startedAt": ago(100)}}}]}),
            ),
            want: &[
                "web",
                "1/1",
                "Running",
                "0",
                "3m20s",
                "10.42.0.5",
                "n1",
                "<none>",
                "<none>",
            ],
        },
        Case {
            name: "container creating",
            pod: pod(
                json!({"phase": "Pending", "containerStatuses": [{"name": "a", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}]}),
            ),
            want: &[
                "web",
                "0/1",
                "ContainerCreating",
                "0",
                "3m20s",
                "<none>",
                "n1",
                "<none>",
                "<none>",
            ],
        },
        Case {
            name: "crash loop with restarts",
            pod: pod(
                json!({"phase": "Running", "containerStatuses": [{"name": "a", "ready": false, "restartCount": 3,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(300)}}}]}),
            ),
            want: &[
                "web",
                "0/1",
                "CrashLoopBackOff",
                "3 (5m ago)",
                "3m20s",
                "<none>",
                "n1",
                "<none>",
                "<none>",
            ],
        },
        Case {
            name: "completed",
            pod: pod(
                json!({"phase": "Succeeded", "containerStatuses": [{"name": "a", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}),
            ),
            want: &[
                "web",
                "0/1",
                "Completed",
                "0",
                "3m20s",
                "<none>",
                "n1",
                "<none>",
                "<none>",
            ],
        },
        Case {
            name: "terminated without reason, by signal",
            pod: pod(
                json!({"phase": "Running", "containerStatuses": [{"name": "a", "state": {"terminated": {"exitCode": 137, "signal": 9}}}]}),
            ),
            want: &[
                "web", "0/1", "Signal:9", "0", "3m20s", "<none>", "n1", "<none>", "<none>",
            ],
        },
        Case {
            name: "terminated without reason, exit code",
            pod: pod(
                json!({"phase": "Running", "containerStatuses": [{"name": "a", "state": {"terminated": {"exitCode": 2}}}]}),
            ),
            want: &[
                "web",
                "0/1",
                "ExitCode:2",
                "0",
                "3m20s",
                "<none>",
                "n1",
                "<none>",
                "<none>",
            ],
        },
        Case {
            name: "init container running",
            pod: json!({"metadata": {"name": "i", "creationTimestamp": ago(10)},
                "spec": {"initContainers": [{"name": "init"}], "containers": [{"name": "a"}]},
                "status": {"phase": "Pending",
                    "initContainerStatuses": [{"name": "init", "state": {"running": {}}, "restartCount": 0}],
                    "containerStatuses": [{"name": "a", "state": {"waiting": {"reason": "PodInitializing"}}}]}}),
            want: &[
                "i", "0/1", "Init:0/1", "0", "10s", "<none>", "<none>", "<none>", "<none>",
            ],
        },
        Case {
            name: "init container crash",
            pod: json!({"metadata": {"name": "i", "creationTimestamp": ago(10)},
                "spec": {"initContainers": [{"name": "init"}], "containers": [{"name": "a"}]},
                "status": {"phase": "Pending",
                    "initContainerStatuses": [{"name": "init", "state": {"waiting": {"reason": "CrashLoopBackOff"}}, "restartCount": 2}]}}),
            want: &[
                "i",
                "0/1",
                "Init:CrashLoopBackOff",
                "2",
                "10s",
                "<none>",
                "<none>",
                "<none>",
                "<none>",
            ],
        },
        Case {
            name: "init container failed",
            pod: json!({"metadata": {"name": "i", "creationTimestamp": ago(10)},
                "spec": {"initContainers": [{"name": "init"}], "containers": [{"name": "a"}]},
                "status": {"phase": "Pending",
                    "initContainerStatuses": [{"name": "init", "state": {"terminated": {"exitCode": 1}}}]}}),
            want: &[
                "i",
                "0/1",
                "Init:ExitCode:1",
                "0",
                "10s",
                "<none>",
                "<none>",
                "<none>",
                "<none>",
            ],
        },
        Case {
            name: "terminating",
            pod: {
                let mut p = pod(
                    json!({"phase": "Running", "containerStatuses": [{"name": "a", "ready": true, "state": {"running": {}}}]}),
                );
                p["metadata"]["deletionTimestamp"] = json!(ago(1));
                p
            },
            want: &[
                "web",
                "1/1",
                "Terminating",
                "0",
                "3m20s",
                "<none>",
                "n1",
                "<none>",
                "<none>",
            ],
        },
        Case {
            name: "node lost",
            pod: {
                let mut p = pod(json!({"phase": "Running", "reason": "NodeLost"}));
                p["metadata"]["deletionTimestamp"] = json!(ago(1));
                p
            },
            want: &[
                "web", "0/1", "Unknown", "0", "3m20s", "<none>", "n1", "<none>", "<none>",
            ],
        },
        Case {
            name: "evicted reason",
            pod: pod(json!({"phase": "Failed", "reason": "Evicted"})),
            want: &[
                "web", "0/1", "Evicted", "0", "3m20s", "<none>", "n1", "<none>", "<none>",
            ],
        },
        Case {
            name: "readiness gates and nominated node",
            pod: json!({"metadata": {"name": "g"}, "spec": {"containers": [{"name": "a"}], "readinessGates": [{"conditionType": "x"}, {"conditionType": "y"}]},
                "status": {"phase": "Pending", "nominatedNodeName": "n2", "conditions": [{"type": "x", "status": "True"}, {"type": "y", "status": "False"}]}}),
            want: &[
                "g",
                "0/1",
                "Pending",
                "0",
                "<unknown>",
                "<none>",
                "<none>",
                "n2",
                "1/2",
            ],
        },
        Case {
            name: "scheduling gated",
            pod: json!({"metadata": {"name": "g"}, "spec": {"containers": [{"name": "a"}]},
                "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}}),
            want: &[
                "g",
                "0/1",
                "SchedulingGated",
                "0",
                "<unknown>",
                "<none>",
                "<none>",
                "<none>",
                "<none>",
            ],
        },
        Case {
            name: "completed sidecar still running shows NotReady",
            pod: pod(json!({"phase": "Running", "containerStatuses": [
                {"name": "a", "ready": true, "state": {"running": {}}},
                {"name": "b", "ready": false, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]})),
            want: &[
                "web", "1/1", "NotReady", "0", "3m20s", "<none>", "n1", "<none>", "<none>",
            ],
        },
    ];
    for c in cases {
        let got = row("", "pods", c.pod);
        let want: Vec<Value> = c.want.iter().map(|s| json!(s)).collect();
        assert_eq!(got, want, "{}", c.name);
    }
}

#[test]
fn pod_row_conditions() {
    let pods = find_resource("", "v1", "pods").expect("pods");
    let done = pod(json!({"phase": "Succeeded"}));
    assert_eq!(
        row_conditions(pods, &done).expect("cond")[0]["reason"],
        "Succeeded"
    );
    assert!(row_conditions(pods, &pod(json!({"phase": "Running"}))).is_none());
}

#[test]
fn node_rows() {
    let n = json!({
        "metadata": {"name": "n1", "creationTimestamp": ago(51 * 3600),
            "labels": {"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/master": "true", "kubernetes.io/role": "etcd"}},
        "spec": {"unschedulable": true},
        "status": {"conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
            "addresses": [{"type": "InternalIP", "address": "192.168.1.10"}, {"type": "Hostname", "address": "n1"}],
            "nodeInfo": {"kubeletVersion": "v1.33.1", "osImage": "Debian GNU/Linux 12 (bookworm)", "kernelVersion": "6.1.0", "containerRuntimeVersion": "skiff://0.1.0"}}
    });
    assert_eq!(
        row("", "nodes", n),
        vec![
            json!("n1"),
            json!("Ready,SchedulingDisabled"),
            json!("control-plane,etcd,master"),
            json!("2d3h"),
            json!("v1.33.1"),
            json!("192.168.1.10"),
            json!("<none>"),
            json!("Debian GNU/Linux 12 (bookworm)"),
            json!("6.1.0"),
            json!("skiff://0.1.0")
        ]
    );
    let bare = json!({"metadata": {"name": "n2"}, "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}});
    assert_eq!(
        row("", "nodes", bare),
        vec![
            json!("n2"),
            json!("NotReady"),
            json!("<none>"),
            json!("<unknown>"),
            json!(""),
            json!("<none>"),
            json!("<none>"),
            json!("<unknown>"),
            json!("<unknown>"),
            json!("<unknown>")
        ]
    );
    let none = json!({"metadata": {"name": "n3"}});
    assert_eq!(row("", "nodes", none)[1], json!("Unknown"));
}

#[test]
fn deployment_and_replicaset_rows() {
    let d = json!({
        "metadata": {"name": "web", "creationTimestamp": ago(600)},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web", "tier": "fe"}, "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "dev"]}]},
            "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}, {"name": "side", "image": "busybox"}]}}},
        "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}
    });
    assert_eq!(
        row("apps", "deployments", d),
        vec![
            json!("web"),
            json!("2/3"),
            json!(3),
            json!(2),
            json!("10m"),
            json!("nginx,side"),
            json!("nginx:1.25,busybox"),
            json!("app=web,env in (dev,prod),tier=fe")
        ]
    );
    let fresh = json!({"metadata": {"name": "x"}, "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "x"}}}});
    assert_eq!(row("apps", "deployments", fresh)[1], json!("0/1"));
    let rs = json!({
        "metadata": {"name": "web-5d4f", "creationTimestamp": ago(30)},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web", "pod-template-hash": "5d4f"}},
            "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}},
        "status": {"replicas": 2, "readyReplicas": 1}
    });
    assert_eq!(
        row("apps", "replicasets", rs),
        vec![
            json!("web-5d4f"),
            json!(2),
            json!(2),
            json!(1),
            json!("30s"),
            json!("nginx"),
            json!("nginx"),
            json!("app=web,pod-template-hash=5d4f")
        ]
    );
}

#[test]
fn service_rows() {
    let svc = json!({
        "metadata": {"name": "kubernetes", "creationTimestamp": ago(3 * 3600 + 300)},
        "spec": {"type": "ClusterIP", "clusterIP": "10.43.0.1", "clusterIPs": ["10.43.0.1"], "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]}
    });
    assert_eq!(
        row("", "services", svc),
        vec![
            json!("kubernetes"),
            json!("ClusterIP"),
            json!("10.43.0.1"),
            json!("<none>"),
            json!("443/TCP"),
            json!("3h5m"),
            json!("<none>")
        ]
    );
    let np = json!({
        "metadata": {"name": "web"},
        "spec": {"type": "NodePort", "clusterIPs": ["10.43.1.2"], "selector": {"app": "web", "a": "b"},
            "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}]}
    });
    assert_eq!(
        row("", "services", np),
        vec![
            json!("web"),
            json!("NodePort"),
            json!("10.43.1.2"),
            json!("<none>"),
            json!("80:30080/TCP,53/UDP"),
            json!("<unknown>"),
            json!("a=b,app=web")
        ]
    );
    let lb = json!({"metadata": {"name": "lb"}, "spec": {"type": "LoadBalancer", "clusterIPs": ["10.43.1.3"], "ports": [{"port": 80, "nodePort": 31000, "protocol": "TCP"}]}});
    assert_eq!(row("", "services", lb)[3], json!("<pending>"));
    let lb2 = json!({"metadata": {"name": "lb"}, "spec": {"type": "LoadBalancer", "externalIPs": ["1.2.3.4"]}, "status": {"loadBalancer": {"ingress": [{"ip": "5.6.7.8"}, {"hostname": "lb.example"}]}}});
    let c = row("", "services", lb2);
    assert_eq!(c[3], json!("5.6.7.8,lb.example,1.2.3.4"));
    assert_eq!(c[2], json!("<none>"));
    assert_eq!(c[4], json!("<none>"));
    let ext = json!({"metadata": {"name": "e"}, "spec": {"type": "ExternalName", "externalName": "example.com"}});
    assert_eq!(row("", "services", ext)[3], json!("example.com"));
    let headless = json!({"metadata": {"name": "h"}, "spec": {"type": "ClusterIP", "clusterIP": "None", "clusterIPs": ["None"]}});
    assert_eq!(row("", "services", headless)[2], json!("None"));
}

#[test]
fn event_rows() {
    let ev = json!({
        "metadata": {"name": "web.17a", "creationTimestamp": ago(90)},
        "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{nginx}"},
        "reason": "Pulled", "message": "Successfully pulled image \"nginx\"\n", "type": "Normal",
        "source": {"component": "kubelet", "host": "n1"},
        "firstTimestamp": ago(90), "lastTimestamp": ago(30), "count": 2
    });
    assert_eq!(
        row("", "events", ev),
        vec![
            json!("30s"),
            json!("Normal"),
            json!("Pulled"),
            json!("pod/web"),
            json!("spec.containers{nginx}"),
            json!("kubelet, n1"),
            json!("Successfully pulled image \"nginx\""),
            json!("90s"),
            json!(2),
            json!("web.17a")
        ]
    );
    let new_style = json!({
        "metadata": {"name": "web.17b"}, "eventTime": format!("{}", (now() - chrono::Duration::seconds(12)).format("%Y-%m-%dT%H:%M:%S%.6fZ")),
        "involvedObject": {"kind": "Deployment", "name": "web"}, "reason": "ScalingReplicaSet", "message": "Scaled up", "type": "Normal",
        "reportingComponent": "deployment-controller", "reportingController": "deployment-controller"
    });
    let c = row("", "events", new_style);
    assert_eq!(c[0], json!("12s"));
    assert_eq!(c[3], json!("deployment/web"));
    assert_eq!(c[5], json!("deployment-controller"));
    assert_eq!(c[8], json!(1));
    let series = json!({"metadata": {"name": "s"}, "eventTime": ago(600), "series": {"count": 7, "lastObservedTime": ago(60)}, "involvedObject": {"kind": "Node"}});
    let c = row("", "events", series);
    assert_eq!(
        (c[0].clone(), c[3].clone(), c[7].clone(), c[8].clone()),
        (json!("60s"), json!("node"), json!("10m"), json!(7))
    );
}

#[test]
fn events_v1_rows() {
    let ev = json!({
        "metadata": {"name": "e1"}, "eventTime": ago(5), "regarding": {"kind": "Pod", "name": "web"},
        "reason": "Scheduled", "note": "Successfully assigned default/web to n1", "type": "Normal",
        "reportingController": "default-scheduler", "reportingInstance": "default-scheduler-n1", "action": "Binding"
    });
    assert_eq!(
        row("events.k8s.io", "events", ev),
        vec![
            json!("5s"),
            json!("Normal"),
            json!("Scheduled"),
            json!("pod/web"),
            json!(""),
            json!("default-scheduler, default-scheduler-n1"),
            json!("Successfully assigned default/web to n1"),
            json!("5s"),
            json!(1),
            json!("e1")
        ]
    );
}

#[test]
fn simple_rows() {
    assert_eq!(
        row(
            "",
            "namespaces",
            json!({"metadata": {"name": "default", "creationTimestamp": ago(7200)}, "status": {"phase": "Active"}})
        ),
        vec![json!("default"), json!("Active"), json!("120m")]
    );
    assert_eq!(
        row(
            "",
            "configmaps",
            json!({"metadata": {"name": "c", "creationTimestamp": ago(1)}, "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}})
        ),
        vec![json!("c"), json!(3), json!("1s")]
    );
    assert_eq!(
        row(
            "",
            "secrets",
            json!({"metadata": {"name": "s"}, "type": "Opaque", "data": {"k": "dg=="}})
        ),
        vec![json!("s"), json!("Opaque"), json!(1), json!("<unknown>")]
    );
    assert_eq!(
        row(
            "",
            "serviceaccounts",
            json!({"metadata": {"name": "default"}})
        ),
        vec![json!("default"), json!(0), json!("<unknown>")]
    );
    assert_eq!(
        row(
            "coordination.k8s.io",
            "leases",
            json!({"metadata": {"name": "n1"}, "spec": {"holderIdentity": "n1"}})
        ),
        vec![json!("n1"), json!("n1"), json!("<unknown>")]
    );
    assert_eq!(
        row(
            "coordination.k8s.io",
            "leases",
            json!({"metadata": {"name": "x"}})
        )[1],
        json!("")
    );
}

#[test]
fn endpoint_rows() {
    assert_eq!(
        row("", "endpoints", json!({"metadata": {"name": "e"}}))[1],
        json!("<none>")
    );
    let ep = json!({"metadata": {"name": "kube-dns"}, "subsets": [
        {"addresses": [{"ip": "10.1.0.20"}, {"ip": "10.1.0.21"}], "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}, {"port": 9153}]}
    ]});
    assert_eq!(
        row("", "endpoints", ep)[1],
        json!("10.1.0.20:53,10.1.0.21:53,10.1.0.20:53 + 3 more...")
    );
    let v6 = json!({"metadata": {"name": "e"}, "subsets": [{"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 80}]}]});
    assert_eq!(row("", "endpoints", v6)[1], json!("[fd00::1]:80"));
}

#[test]
fn whole_table() {
    let pods = find_resource("", "v1", "pods").expect("pods");
    let t = table(pods, &[pod(json!({"phase": "Running"}))], now(), "Metadata");
    assert_eq!(t["kind"], "Table");
    assert_eq!(t["columnDefinitions"][0]["name"], "Name");
    assert_eq!(t["rows"][0]["cells"][0], "web");
    assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
}
