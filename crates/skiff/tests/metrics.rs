//! Prometheus `/metrics` of a real `skiff server`: the API server's page (read with the
//! admin kubeconfig) also shows the embedded scheduler's figures, and the kubelet's page
//! (through `nodes/NAME/proxy/metrics`) its requests and running pods and containers.
#![allow(clippy::unwrap_used, missing_docs)] // test code: a failed unwrap is a failed test

mod common;
mod node_support;

use node_support::*;
use std::time::Duration;

/// The value of the sample `name{labels}` whose label text contains every `want`.
fn value(text: &str, name: &str, want: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .find(|l| want.iter().all(|w| l.contains(w)))
        .and_then(|l| l.rsplit_once(' '))
        .and_then(|(_, v)| v.parse().ok())
}

#[test]
fn api_server_scheduler_and_kubelet_metrics() {
    let c = cluster();
    // No nodeName: the scheduler binds it.
    apply(
        &c,
        &format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: sched\nspec:\n  terminationGracePeriodSeconds: 1\n  containers:\n  - name: main\n    image: {IMAGE}\n"
        ),
    );
    wait_pod(&c, "sched", "Running", 90, running_ready);

    let api = ok(&c, &["get", "--raw", "/metrics"]);
    let scheduled = ["result=\"scheduled\"", "profile=\"default-scheduler\""];
    assert!(
        value(&api, "scheduler_schedule_attempts_total", &scheduled).is_some_and(|v| v >= 1.0),
        "{api}"
    );
    let inf = ["result=\"scheduled\"", "le=\"+Inf\""];
    assert!(
        value(
            &api,
            "scheduler_scheduling_attempt_duration_seconds_bucket",
            &inf
        )
        .is_some_and(|v| v >= 1.0),
        "{api}"
    );
    for queue in ["active", "backoff", "unschedulable", "gated"] {
        let q = format!("queue=\"{queue}\"");
        assert!(
            value(&api, "scheduler_pending_pods", &[q.as_str()]).is_some(),
            "{queue}: {api}"
        );
    }
    let created = ["verb=\"POST\"", "resource=\"pods\"", "code=\"201\""];
    assert!(
        value(&api, "apiserver_request_total", &created).is_some_and(|v| v >= 1.0),
        "{api}"
    );
    let binding = ["verb=\"POST\"", "subresource=\"binding\"", "code=\"201\""];
    assert!(
        value(&api, "apiserver_request_total", &binding).is_some_and(|v| v >= 1.0),
        "{api}"
    );
    assert!(
        value(
            &api,
            "etcd_request_duration_seconds_count",
            &["operation=\"update\"", "type=\"pods\""]
        )
        .is_some(),
        "{api}"
    );

    let path = format!("/api/v1/nodes/{}/proxy/metrics", c.node_name);
    ok(&c, &["get", "--raw", &path]);
    // The second scrape also shows the duration of the first.
    let kubelet = ok(&c, &["get", "--raw", &path]);
    assert!(
        value(&kubelet, "kubelet_running_pods", &[]).is_some_and(|v| v >= 1.0),
        "{kubelet}"
    );
    let running = ["container_state=\"running\""];
    assert!(
        value(&kubelet, "kubelet_running_containers", &running).is_some_and(|v| v >= 1.0),
        "{kubelet}"
    );
    let scrape = [
        "method=\"GET\"",
        "path=\"metrics\"",
        "server_type=\"readwrite\"",
        "long_running=\"false\"",
    ];
    assert!(
        value(&kubelet, "kubelet_http_requests_total", &scrape).is_some_and(|v| v >= 1.0),
        "{kubelet}"
    );
    let timed = ["path=\"metrics\"", "le=\"+Inf\""];
    assert!(
        value(
            &kubelet,
            "kubelet_http_requests_duration_seconds_bucket",
            &timed
        )
        .is_some_and(|v| v >= 1.0),
        "{kubelet}"
    );

    ok(
        &c,
        &["delete", "pod", "sched", "--wait=true", "--timeout=60s"],
    );
    c.wait_until("pod gone", Duration::from_secs(60), |c| {
        !String::from_utf8_lossy(&kubectl(c, &["get", "pods"]).stdout).contains("sched")
    });
    teardown(c);
}
