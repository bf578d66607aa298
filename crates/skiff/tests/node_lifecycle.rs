//! The node agent end to end, the parts the first suites left out: postStart/preStop hooks,
//! startup and grpc probes, FailedMount on a missing configMap (and recovery once it exists),
//! `/stats/summary` through the API server's nodes/proxy, `kubectl attach -ti` through a real
//! pty, and a pod CIDR assigned to the Node after registration reaching the runtime.

mod common;
mod node_support;

use common::{free_port, Cluster};
use node_support::*;
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn exec(c: &Cluster, pod: &str, script: &str) -> String {
    ok(c, &["exec", pod, "--", "sh", "-c", script])
}

#[test]
fn post_start_and_pre_stop_hooks() {
    let c = cluster();
    // preStop writes into a hostPath the test reads after the pod is gone.
    let host = c.dir.path().join("hook-out");
    std::fs::create_dir_all(&host).expect("hostPath dir");
    let yaml = format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: hooked
spec:
  nodeName: {node}
  terminationGracePeriodSeconds: 10
  volumes:
  - name: out
    hostPath: {{path: {host}}}
  containers:
  - name: main
    image: {IMAGE}
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
    volumeMounts: [{{name: out, mountPath: /out}}]
    lifecycle:
      postStart:
        exec: {{command: ["sh", "-c", "echo started > /tmp/poststart"]}}
      preStop:
        exec: {{command: ["sh", "-c", "echo stopping > /out/prestop; sleep 1"]}}
---
apiVersion: v1
kind: Pod
metadata:
  name: badhook
spec:
  nodeName: {node}
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: {IMAGE}
    command: ["sleep", "3600"]
    lifecycle:
      postStart:
        exec: {{command: ["sh", "-c", "exit 7"]}}
"#,
        node = c.node_name,
        host = host.display(),
    );
    apply(&c, &yaml);
    wait_pod(&c, "hooked", "Running", 60, running_ready);
    assert_eq!(exec(&c, "hooked", "cat /tmp/poststart").trim(), "started");

    // A failing postStart: FailedPostStartHook, the container is killed and restarted.
    let reasons = wait_event(&c, "badhook", "FailedPostStartHook", 60);
    assert!(reasons.iter().any(|r| r == "Started"), "{reasons:?}");
    wait_pod(&c, "badhook", "restart after the failed hook", 60, |p| {
        container_status(p, "main")["restartCount"]
            .as_i64()
            .unwrap_or(0)
            >= 1
    });

    let start = Instant::now();
    ok(&c, &["delete", "pod", "hooked"]);
    let took = start.elapsed();
    let written = std::fs::read_to_string(host.join("prestop")).unwrap_or_default();
    assert_eq!(written.trim(), "stopping", "preStop did not run");
    assert!(
        took >= Duration::from_secs(1),
        "preStop sleep skipped: {took:?}"
    );
    assert!(took < Duration::from_secs(10), "grace ran out: {took:?}");
    teardown(c);
}

#[test]
fn startup_probe_gates_liveness_and_readiness_and_restarts_on_failure() {
    let c = cluster();
    let yaml = format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: slowstart
spec:
  nodeName: {node}
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: {IMAGE}
    command: ["sh", "-c", "sleep 4; touch /tmp/up; sleep 3600"]
    startupProbe:
      exec: {{command: ["cat", "/tmp/up"]}}
      periodSeconds: 1
      failureThreshold: 30
    livenessProbe:
      exec: {{command: ["cat", "/tmp/up"]}}
      periodSeconds: 1
      failureThreshold: 1
    readinessProbe:
      exec: {{command: ["true"]}}
      periodSeconds: 1
---
apiVersion: v1
kind: Pod
metadata:
  name: neverstarts
spec:
  nodeName: {node}
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: {IMAGE}
    command: ["sleep", "3600"]
    startupProbe:
      exec: {{command: ["cat", "/tmp/never"]}}
      periodSeconds: 1
      failureThreshold: 2
"#,
        node = c.node_name
    );
    apply(&c, &yaml);
    let p = wait_pod(&c, "slowstart", "container running", 60, |p| {
        container_status(p, "main")["state"]["running"].is_object()
    });
    // Before the startup probe passes: started false, not ready, liveness not yet at work.
    let early = container_status(&p, "main");
    if early["started"] == false {
        assert_eq!(early["ready"], false, "{early}");
    }
    let p = wait_pod(&c, "slowstart", "started and ready", 60, running_ready);
    let st = container_status(&p, "main");
    assert_eq!(st["started"], true, "{st}");
    assert_eq!(st["restartCount"], 0, "liveness ran before startup: {st}");

    let p = wait_pod(&c, "neverstarts", "restart by startup probe", 60, |p| {
        container_status(p, "main")["restartCount"]
            .as_i64()
            .unwrap_or(0)
            >= 1
    });
    assert_eq!(container_status(&p, "main")["ready"], false);
    let events = ok(
        &c,
        &[
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=neverstarts",
        ],
    );
    assert!(events.contains("Startup probe failed"), "{events}");
    assert!(events.contains("failed startup probe"), "{events}");
    teardown(c);
}

/// A gRPC health server (grpc.health.v1.Health/Check answering SERVING, or NOT_SERVING
/// once `flag` exists) run by Debian's python3-grpcio on 127.0.0.1:`port`; None when the
/// module is not installed.
fn grpc_health_server(port: u16, flag: &std::path::Path) -> Option<std::process::Child> {
    let probe = Command::new("/usr/bin/python3")
        .args(["-c", "import grpc"])
        .status()
        .ok()?;
    if !probe.success() {
        return None;
    }
    let script = format!(
        r#"
import os, time, grpc
from concurrent import futures
def check(req, ctx):
    # HealthCheckResponse{{status: SERVING(1) | NOT_SERVING(2)}}
    return b"\x08\x02" if os.path.exists({flag:?}) else b"\x08\x01"
h = grpc.method_handlers_generic_handler("grpc.health.v1.Health",
    {{"Check": grpc.unary_unary_rpc_method_handler(check)}})
s = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
s.add_generic_rpc_handlers((h,))
s.add_insecure_port("127.0.0.1:{port}")
s.start()
while True:
    time.sleep(3600)
"#,
        flag = flag.display().to_string(),
    );
    Command::new("/usr/bin/python3")
        .args(["-c", &script])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
}

#[test]
fn grpc_readiness_probe() {
    let c = cluster();
    let port = free_port();
    let flag = c.dir.path().join("grpc-not-serving");
    // No grpc server image is at hand: the server runs on the host and the pod uses the
    // host network, so the kubelet probes the node IP (127.0.0.1) — the same code path.
    let Some(mut server) = grpc_health_server(port, &flag) else {
        eprintln!("skipped: python3-grpcio is not installed (apt-get install python3-grpcio)");
        teardown(c);
        return;
    };
    let yaml = format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: grpcprobed
spec:
  nodeName: {node}
  hostNetwork: true
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: {IMAGE}
    command: ["sleep", "3600"]
    readinessProbe:
      grpc: {{port: {port}}}
      periodSeconds: 1
"#,
        node = c.node_name
    );
    apply(&c, &yaml);
    let ready = std::panic::catch_unwind(|| {
        wait_pod(&c, "grpcprobed", "ready via grpc", 60, running_ready);
        std::fs::write(&flag, b"").expect("flag");
        wait_pod(&c, "grpcprobed", "not ready via grpc", 30, |p| {
            container_status(p, "main")["ready"] == false
        });
        wait_event(&c, "grpcprobed", "Unhealthy", 10);
    });
    let _ = server.kill();
    let _ = server.wait();
    if let Err(e) = ready {
        std::panic::resume_unwind(e);
    }
    teardown(c);
}

#[test]
fn missing_config_map_fails_mount_until_created() {
    let c = cluster();
    let yaml = format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: needscm
spec:
  nodeName: {node}
  terminationGracePeriodSeconds: 1
  volumes:
  - name: cfg
    configMap: {{name: late-config}}
  containers:
  - name: main
    image: {IMAGE}
    command: ["sh", "-c", "cat /cfg/greeting; echo; sleep 3600"]
    volumeMounts: [{{name: cfg, mountPath: /cfg}}]
"#,
        node = c.node_name
    );
    apply(&c, &yaml);
    wait_event(&c, "needscm", "FailedMount", 60);
    let events = ok(
        &c,
        &[
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=needscm",
        ],
    );
    assert!(
        events.contains(
            "MountVolume.SetUp failed for volume \"cfg\" : configmap \"late-config\" not found"
        ),
        "{events}"
    );
    let p = pod(&c, "needscm");
    assert_eq!(p["status"]["phase"], "Pending", "{}", p["status"]);
    let describe = ok(&c, &["get", "pods", "needscm"]);
    assert!(describe.contains("ContainerCreating"), "{describe}");

    ok(
        &c,
        &[
            "create",
            "configmap",
            "late-config",
            "--from-literal=greeting=hello",
        ],
    );
    wait_pod(
        &c,
        "needscm",
        "Running once the configMap exists",
        60,
        running_ready,
    );
    let start = Instant::now();
    loop {
        let logs = ok(&c, &["logs", "needscm"]);
        if logs.trim() == "hello" {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "logs: {logs:?}; /cfg: {:?}; status: {}",
            kubectl(&c, &["exec", "needscm", "--", "ls", "-la", "/cfg/"]),
            pod(&c, "needscm")["status"]
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    teardown(c);
}

#[test]
fn stats_summary_through_the_node_proxy() {
    let c = cluster();
    apply(
        &c,
        &shell_pod(
            &c,
            "busy",
            "while true; do :; done",
            "  terminationGracePeriodSeconds: 1",
        ),
    );
    wait_pod(&c, "busy", "Running", 60, running_ready);
    let path = format!("/api/v1/nodes/{}/proxy/stats/summary", c.node_name);
    let start = Instant::now();
    let (summary, busy) = loop {
        let raw = ok(&c, &["get", "--raw", &path]);
        let summary: Value = serde_json::from_str(&raw).expect("summary is JSON");
        let busy = summary["pods"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["podRef"]["name"] == "busy"))
            .cloned()
            .unwrap_or(Value::Null);
        let cpu = busy["containers"][0]["cpu"]["usageNanoCores"]
            .as_u64()
            .unwrap_or(0);
        if cpu > 0 {
            break (summary, busy);
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no cpu usage for the busy pod: {raw}"
        );
        std::thread::sleep(Duration::from_secs(1));
    };
    let node = &summary["node"];
    assert_eq!(node["nodeName"], c.node_name.as_str(), "{node}");
    for key in ["availableBytes", "workingSetBytes"] {
        assert!(node["memory"][key].as_u64().unwrap_or(0) > 0, "{node}");
    }
    assert!(
        node["fs"]["capacityBytes"].as_u64().unwrap_or(0) > 0,
        "{node}"
    );
    assert!(
        node["cpu"]["usageCoreNanoSeconds"].as_u64().unwrap_or(0) > 0,
        "{node}"
    );
    assert_eq!(busy["podRef"]["namespace"], "default", "{busy}");
    assert!(busy["podRef"]["uid"].is_string(), "{busy}");
    assert_eq!(busy["containers"][0]["name"], "main", "{busy}");
    assert!(
        busy["memory"]["workingSetBytes"].as_u64().unwrap_or(0) > 0,
        "{busy}"
    );
    teardown(c);
}

#[test]
fn attach_with_a_tty() {
    let c = cluster();
    let yaml = format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: ttyattach
spec:
  nodeName: {node}
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: {IMAGE}
    stdin: true
    tty: true
    command: ["sh"]
"#,
        node = c.node_name
    );
    apply(&c, &yaml);
    wait_pod(&c, "ttyattach", "Running", 60, running_ready);
    let command = format!("{KUBECTL} attach -ti ttyattach");
    let mut script = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("KUBECONFIG", &c.kubeconfig)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script");
    {
        let mut stdin = script.stdin.take().expect("stdin");
        std::thread::sleep(Duration::from_secs(2));
        let _ = stdin.write_all(b"tty; echo sum=$((40+2))\n");
        std::thread::sleep(Duration::from_secs(2));
        // Detach with the TTY escape sequence, as a user would (ctrl-p ctrl-q).
        let _ = stdin.write_all(b"\x10\x11");
        std::thread::sleep(Duration::from_secs(1));
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = script.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = script.kill();
    let out = script.wait_with_output().expect("script output");
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(
        screen.contains("/dev/pts/"),
        "no tty in the container: {screen}"
    );
    assert!(screen.contains("sum=42"), "{screen}");
    // The shell is still there after the client went away.
    let p = pod(&c, "ttyattach");
    assert_eq!(
        container_status(&p, "main")["restartCount"],
        0,
        "{}",
        p["status"]
    );
    teardown(c);
}

/// Runs a sleeping pod and returns its IP.
fn pod_ip(c: &Cluster, name: &str) -> String {
    apply(
        c,
        &shell_pod(c, name, "sleep 3600", "  terminationGracePeriodSeconds: 1"),
    );
    let p = wait_pod(c, name, "Running", 60, running_ready);
    p["status"]["podIP"].as_str().unwrap_or("").to_string()
}

/// `10.1.2.0/24` → `10.1.2.`
fn prefix24(cidr: &str) -> String {
    cidr.trim_end_matches("0/24").to_string()
}

#[test]
fn pod_cidr_assigned_after_registration_reaches_the_runtime() {
    let c = cluster();
    // Before any pod has run (the CNI bridge has no address yet), give the node a /24 other
    // than the one the agent derived from the cluster CIDR at registration, as a node IPAM
    // controller assigning late would; the agent's Node watch must hand it to the runtime.
    let node = json(&c, &["node", &c.node_name]);
    let now = node["spec"]["podCIDR"]
        .as_str()
        .unwrap_or("10.0.0.0/24")
        .to_string();
    let parts: Vec<u8> = now
        .trim_end_matches("/24")
        .split('.')
        .filter_map(|p| p.parse().ok())
        .collect();
    assert_eq!(parts.len(), 4, "{now}");
    let next = format!(
        "{}.{}.{}.0/24",
        parts[0],
        parts[1],
        parts[2].wrapping_add(7)
    );
    let patch = format!(r#"{{"spec":{{"podCIDR":"{next}","podCIDRs":["{next}"]}}}}"#);
    ok(
        &c,
        &["patch", "node", &c.node_name, "--type=merge", "-p", &patch],
    );
    // Give the watch event a moment to arrive before the first sandbox is created.
    c.wait_until("pod CIDR handed over", Duration::from_secs(10), |c| {
        c.log_tail(200).contains("pod CIDR handed to the runtime")
    });
    let ip = pod_ip(&c, "first");
    assert!(
        ip.starts_with(&prefix24(&next)),
        "pod IP {ip} not in the assigned {next}\n{}",
        c.log_tail(40)
    );
    teardown(c);
}

/// A hardened pod as people write them: non-root user with fsGroup, an init container
/// writing to a shared emptyDir, read-only root file system, `drop: [ALL]` + one added
/// capability, limits; and a privileged pod. Behaviour as upstream's kubelet/containerd.
#[test]
fn security_contexts_fs_group_and_privileged() {
    let c = cluster();
    apply(
        &c,
        &format!(
            r#"apiVersion: v1
kind: Pod
metadata:
  name: hardened
spec:
  nodeName: {node}
  securityContext: {{runAsUser: 1000, runAsGroup: 3000, fsGroup: 2000}}
  initContainers:
  - name: init
    image: {IMAGE}
    command: ["sh", "-c", "echo init-done > /work/flag"]
    volumeMounts: [{{name: work, mountPath: /work}}]
  containers:
  - name: main
    image: {IMAGE}
    command: ["sh", "-c", "sleep 3600"]
    volumeMounts: [{{name: work, mountPath: /work}}]
    securityContext:
      readOnlyRootFilesystem: true
      allowPrivilegeEscalation: false
      capabilities: {{drop: [ALL], add: [NET_BIND_SERVICE]}}
    resources: {{limits: {{cpu: 200m, memory: 64Mi}}}}
  volumes: [{{name: work, emptyDir: {{}}}}]
"#,
            node = c.node_name
        ),
    );
    apply(
        &c,
        &shell_pod(&c, "privileged", "sleep 3600", "").replace(
            "    command:",
            "    securityContext: {privileged: true}\n    command:",
        ),
    );
    wait_pod(&c, "hardened", "Running", 60, running_ready);
    wait_pod(&c, "privileged", "Running", 60, running_ready);

    let out = exec(&c, "hardened", "id; cat /work/flag; stat -c '%g %a' /work/flag; touch /x 2>&1; grep -E 'CapBnd|NoNewPrivs' /proc/self/status");
    assert!(out.contains("uid=1000 gid=3000 groups=2000"), "{out}");
    assert!(
        out.contains("init-done\n2000 "),
        "flag written by init and owned by the fsGroup: {out}"
    );
    assert!(out.contains("Read-only file system"), "{out}");
    assert!(out.contains("CapBnd:\t0000000000000400"), "{out}");
    assert!(out.contains("NoNewPrivs:\t1"), "{out}");

    let out = exec(
        &c,
        "privileged",
        "test -c /dev/kmsg && echo devices; grep CapEff /proc/self/status",
    );
    assert!(out.contains("devices"), "{out}");
    let host = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let bounding = host
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .unwrap_or_default()
        .trim()
        .to_string();
    assert!(out.contains(&bounding), "{out} vs host {bounding}");
    ok(
        &c,
        &[
            "delete",
            "pod",
            "hardened",
            "privileged",
            "--grace-period=1",
        ],
    );
    teardown(c);
}
