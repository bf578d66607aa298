//! The node agent end to end with real parts: `skiff server` (runtime, runc, CNI) and the real
//! kubectl — node registration and lease, pod lifecycle and status, events, env, volumes,
//! init containers, two containers over localhost, restart policies, probes, OOM, graceful
//! deletion, and agent restarts.

mod common;
mod node_support;

use common::{bootcamp_archive, oci_states, Cluster};
use node_support::*;
use serde_json::Value;
use std::time::{Duration, Instant};

#[test]
fn node_registers_with_capacity_info_and_lease() {
    let c = cluster();
    let wide = ok(&c, &["get", "nodes", "-o", "wide"]);
    let header = wide.lines().next().unwrap_or_default();
    for col in [
        "NAME",
        "STATUS",
        "ROLES",
        "AGE",
        "VERSION",
        "INTERNAL-IP",
        "EXTERNAL-IP",
        "OS-IMAGE",
        "KERNEL-VERSION",
        "CONTAINER-RUNTIME",
    ] {
        assert!(header.contains(col), "missing column {col}: {wide}");
    }
    let row = wide.lines().nth(1).unwrap_or_default();
    assert!(
        row.starts_with(&c.node_name) && row.contains(" Ready "),
        "{wide}"
    );
    assert!(row.contains("127.0.0.1") && row.contains("v1.33"), "{wide}");
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    assert!(row.contains(kernel.trim()), "kernel not shown: {wide}");
    assert!(
        row.contains("Debian") || row.contains("Linux"),
        "os image not shown: {wide}"
    );
    assert!(row.contains("://"), "runtime not shown: {wide}");

    let node = json(&c, &["node", &c.node_name]);
    let status = &node["status"];
    for key in ["cpu", "memory", "pods", "ephemeral-storage"] {
        assert!(
            status["capacity"][key].is_string(),
            "capacity lacks {key}: {status}"
        );
        assert!(
            status["allocatable"][key].is_string(),
            "allocatable lacks {key}: {status}"
        );
    }
    assert_eq!(status["capacity"]["pods"], "110");
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    assert_eq!(status["capacity"]["cpu"], cpus.to_string());
    let types: Vec<&str> = status["conditions"]
        .as_array()
        .map(|cs| cs.iter().filter_map(|c| c["type"].as_str()).collect())
        .unwrap_or_default();
    for t in ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"] {
        assert!(types.contains(&t), "conditions lack {t}: {types:?}");
    }
    let info = &status["nodeInfo"];
    for key in [
        "kernelVersion",
        "osImage",
        "containerRuntimeVersion",
        "kubeletVersion",
        "architecture",
        "operatingSystem",
    ] {
        assert!(
            info[key].as_str().is_some_and(|v| !v.is_empty()),
            "nodeInfo lacks {key}: {info}"
        );
    }
    assert!(status["addresses"].as_array().is_some_and(|a| a
        .iter()
        .any(|x| x["type"] == "InternalIP" && x["address"] == "127.0.0.1")));
    assert!(
        status["daemonEndpoints"]["kubeletEndpoint"]["Port"]
            .as_i64()
            .unwrap_or(0)
            > 0,
        "{status}"
    );
    assert_eq!(
        node["metadata"]["labels"]["kubernetes.io/hostname"],
        c.node_name.as_str()
    );

    // The Lease in kube-node-lease is renewed every 10 s.
    let lease = |c: &Cluster| json(c, &["lease", "-n", "kube-node-lease", &c.node_name]);
    let first = lease(&c);
    assert_eq!(
        first["spec"]["holderIdentity"],
        c.node_name.as_str(),
        "{first}"
    );
    assert_eq!(first["spec"]["leaseDurationSeconds"], 40);
    let renewed = first["spec"]["renewTime"].clone();
    assert!(renewed.is_string(), "{first}");
    let start = Instant::now();
    loop {
        let now = lease(&c);
        if now["spec"]["renewTime"] != renewed && now["spec"]["renewTime"].is_string() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(25),
            "lease not renewed: {now}"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    teardown(c);
}

const FEATURES: &str = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  greeting: hello-from-configmap
  COLOR: blue
---
apiVersion: v1
kind: Secret
metadata:
  name: sec
stringData:
  password: s3cret
---
apiVersion: v1
kind: Pod
metadata:
  name: features
  labels:
    app: features
    tier: test
  annotations:
    note: annotated
spec:
  nodeName: __NODE__
  terminationGracePeriodSeconds: 1
  initContainers:
  - name: init-one
    image: __IMAGE__
    command: ["sh", "-c", "echo hello-from-init > /shared/index.html; echo one > /shared/order"]
    volumeMounts:
    - {name: shared, mountPath: /shared}
  - name: init-two
    image: __IMAGE__
    command: ["sh", "-c", "echo two >> /shared/order"]
    volumeMounts:
    - {name: shared, mountPath: /shared}
  containers:
  - name: web
    image: __IMAGE__
    command: ["httpd", "-f", "-p", "8080", "-h", "/shared"]
    ports:
    - containerPort: 8080
    env:
    - name: MY_POD_NAME
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
    - name: MY_POD_IP
      valueFrom: {fieldRef: {fieldPath: status.podIP}}
    - name: MY_NODE
      valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
    - name: MY_GREETING
      valueFrom: {configMapKeyRef: {name: cfg, key: greeting}}
    - name: MY_PASSWORD
      valueFrom: {secretKeyRef: {name: sec, key: password}}
    - name: MY_MEM_LIMIT
      valueFrom: {resourceFieldRef: {resource: limits.memory}}
    - name: COMPOSED
      value: "$(MY_POD_NAME)-composed"
    envFrom:
    - configMapRef: {name: cfg}
      prefix: CM_
    resources:
      limits: {memory: 128Mi}
    volumeMounts:
    - {name: shared, mountPath: /shared}
    - {name: cfgvol, mountPath: /etc/cfg}
    - {name: secvol, mountPath: /etc/sec}
    - {name: podinfo, mountPath: /etc/podinfo}
    - {name: host, mountPath: /host}
    - {name: mem, mountPath: /mem}
  - name: client
    image: __IMAGE__
    command: ["sh", "-c", "while true; do wget -qO /tmp/got http://localhost:8080/index.html; cat /shared/index.html > /tmp/shared; sleep 1; done"]
    volumeMounts:
    - {name: shared, mountPath: /shared}
  volumes:
  - name: shared
    emptyDir: {}
  - name: mem
    emptyDir: {medium: Memory}
  - name: cfgvol
    configMap: {name: cfg}
  - name: secvol
    secret: {secretName: sec}
  - name: podinfo
    downwardAPI:
      items:
      - path: labels
        fieldRef: {fieldPath: metadata.labels}
      - path: name
        fieldRef: {fieldPath: metadata.name}
  - name: host
    hostPath: {path: __HOSTDIR__, type: Directory}
"#;

fn exec(c: &Cluster, pod: &str, container: &str, script: &str) -> String {
    ok(c, &["exec", pod, "-c", container, "--", "sh", "-c", script])
}

#[test]
fn pod_lifecycle_status_env_volumes_and_events() {
    let c = cluster();
    let host_dir = c.dir.path().join("hostpath");
    std::fs::create_dir_all(&host_dir).unwrap();
    std::fs::write(host_dir.join("from-host"), "host-file-content").unwrap();
    let yaml = FEATURES
        .replace("__NODE__", &c.node_name)
        .replace("__IMAGE__", IMAGE)
        .replace("__HOSTDIR__", &host_dir.to_string_lossy());
    apply(&c, &yaml);
    let p = wait_pod(&c, "features", "Running and ready", 90, running_ready);

    // Status: conditions, IPs, container statuses.
    let st = &p["status"];
    for cond in [
        "PodScheduled",
        "Initialized",
        "ContainersReady",
        "Ready",
        "PodReadyToStartContainers",
    ] {
        assert_eq!(condition(&p, cond), "True", "{cond}: {st}");
    }
    let ip = st["podIP"].as_str().unwrap_or_default().to_string();
    assert!(ip.parse::<std::net::Ipv4Addr>().is_ok(), "podIP: {st}");
    assert_eq!(st["podIPs"][0]["ip"], ip.as_str());
    assert_eq!(st["hostIP"], "127.0.0.1");
    assert!(st["startTime"].is_string(), "{st}");
    for name in ["web", "client"] {
        let cs = container_status(&p, name);
        assert!(cs["state"]["running"]["startedAt"].is_string(), "{cs}");
        assert_eq!(cs["ready"], true);
        assert_eq!(cs["started"], true);
        assert_eq!(cs["restartCount"], 0);
        assert!(
            cs["containerID"]
                .as_str()
                .is_some_and(|id| id.contains("://")),
            "{cs}"
        );
        assert!(
            cs["imageID"]
                .as_str()
                .is_some_and(|id| id.contains("sha256:")),
            "{cs}"
        );
        assert_eq!(cs["image"], IMAGE);
    }
    for name in ["init-one", "init-two"] {
        let cs = container_status(&p, name);
        assert_eq!(cs["state"]["terminated"]["reason"], "Completed", "{cs}");
        assert_eq!(cs["state"]["terminated"]["exitCode"], 0);
    }
    let wide = ok(&c, &["get", "pod", "features", "-o", "wide"]);
    assert!(
        wide.contains("2/2")
            && wide.contains("Running")
            && wide.contains(&ip)
            && wide.contains(&c.node_name),
        "{wide}"
    );

    // Init containers ran in order, into the shared emptyDir.
    assert_eq!(
        exec(&c, "features", "web", "cat /shared/order"),
        "one\ntwo\n"
    );

    // Env: fieldRef, configMapKeyRef, secretKeyRef, resourceFieldRef, envFrom, $(VAR), service env.
    let env = ok(&c, &["exec", "features", "-c", "web", "--", "env"]);
    for want in [
        "HOSTNAME=features".to_string(),
        "MY_POD_NAME=features".to_string(),
        format!("MY_POD_IP={ip}"),
        format!("MY_NODE={}", c.node_name),
        "MY_GREETING=hello-from-configmap".to_string(),
        "MY_PASSWORD=s3cret".to_string(),
        format!("MY_MEM_LIMIT={}", 128 * 1024 * 1024),
        "COMPOSED=features-composed".to_string(),
        "CM_COLOR=blue".to_string(),
        "CM_greeting=hello-from-configmap".to_string(),
        "KUBERNETES_SERVICE_HOST=".to_string(),
        "KUBERNETES_SERVICE_PORT=".to_string(),
    ] {
        assert!(env.contains(&want), "env lacks {want}:\n{env}");
    }

    // Volumes: configMap, secret, downwardAPI, hostPath, emptyDir (memory).
    assert_eq!(
        exec(&c, "features", "web", "cat /etc/cfg/greeting"),
        "hello-from-configmap"
    );
    assert_eq!(
        exec(&c, "features", "web", "cat /etc/sec/password"),
        "s3cret"
    );
    let labels = exec(&c, "features", "web", "cat /etc/podinfo/labels");
    assert!(
        labels.contains("app=\"features\"") && labels.contains("tier=\"test\""),
        "{labels}"
    );
    assert_eq!(
        exec(&c, "features", "web", "cat /etc/podinfo/name"),
        "features"
    );
    assert_eq!(
        exec(&c, "features", "web", "cat /host/from-host"),
        "host-file-content"
    );
    exec(&c, "features", "web", "echo from-pod > /host/from-pod");
    assert_eq!(
        std::fs::read_to_string(host_dir.join("from-pod")).unwrap_or_default(),
        "from-pod\n"
    );
    let mounts = exec(&c, "features", "web", "grep ' /mem ' /proc/mounts || true");
    assert!(
        mounts.contains("tmpfs"),
        "medium: Memory is not tmpfs: {mounts}"
    );
    // Memory limit reaches the cgroup.
    let limit = exec(
        &c,
        "features",
        "web",
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes",
    );
    assert_eq!(limit.trim(), (128 * 1024 * 1024).to_string());

    // Two containers: emptyDir shared, and localhost between them.
    let start = Instant::now();
    loop {
        let got = exec(
            &c,
            "features",
            "client",
            "cat /tmp/got /tmp/shared 2>/dev/null || true",
        );
        if got == "hello-from-init\nhello-from-init\n" {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "client over localhost saw: {got:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    // Events for every step.
    let reasons = event_reasons(&c, "features");
    for r in ["Pulled", "Created", "Started"] {
        assert!(reasons.iter().any(|x| x == r), "no {r} event: {reasons:?}");
    }
    let describe = ok(&c, &["describe", "pod", "features"]);
    assert!(describe.contains("Started container web"), "{describe}");

    // Deletion: the agent stops the containers and finalises the object.
    ok(&c, &["delete", "pod", "features", "--wait=false"]);
    wait_event(&c, "features", "Killing", 30);
    let start = Instant::now();
    while !pod(&c, "features").is_null() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "pod not finalised"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    teardown(c);
}

#[test]
fn restart_policies_crash_loop_previous_logs_and_oom() {
    let c = cluster();
    apply(
        &c,
        &shell_pod(&c, "crasher", "echo run at $(date +%s%N); exit 3", ""),
    );
    apply(
        &c,
        &shell_pod(&c, "succeeds", "echo done", "  restartPolicy: OnFailure"),
    );
    apply(
        &c,
        &shell_pod(
            &c,
            "fails-once",
            "echo failing; exit 1",
            "  restartPolicy: Never",
        ),
    );
    let oom = format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: oom
spec:
  nodeName: {node}
  restartPolicy: Never
  containers:
  - name: main
    image: {IMAGE}
    command: ["dd", "if=/dev/zero", "of=/dev/null", "bs=200M", "count=1"]
    resources:
      limits: {{memory: 32Mi}}
"#,
        node = c.node_name
    );
    apply(&c, &oom);

    let p = wait_pod(&c, "succeeds", "Succeeded", 60, |p| {
        p["status"]["phase"] == "Succeeded"
    });
    let cs = container_status(&p, "main");
    assert_eq!(cs["state"]["terminated"]["reason"], "Completed", "{cs}");
    assert_eq!(cs["restartCount"], 0);
    assert_eq!(condition(&p, "Ready"), "False");

    let p = wait_pod(&c, "fails-once", "Failed", 60, |p| {
        p["status"]["phase"] == "Failed"
    });
    let cs = container_status(&p, "main");
    assert_eq!(cs["state"]["terminated"]["reason"], "Error", "{cs}");
    assert_eq!(cs["state"]["terminated"]["exitCode"], 1);
    assert_eq!(cs["restartCount"], 0);
    let logs = ok(&c, &["logs", "fails-once"]);
    assert_eq!(logs, "failing\n");

    let p = wait_pod(&c, "oom", "OOMKilled", 60, |p| {
        container_status(p, "main")["state"]["terminated"]["reason"] == "OOMKilled"
    });
    let cs = container_status(&p, "main");
    assert_eq!(cs["state"]["terminated"]["exitCode"], 137, "{cs}");
    assert_eq!(p["status"]["phase"], "Failed");

    // Always: restarts with back-off; CrashLoopBackOff between attempts; counts and lastState.
    let p = wait_pod(&c, "crasher", "two restarts", 90, |p| {
        container_status(p, "main")["restartCount"]
            .as_i64()
            .unwrap_or(0)
            >= 2
    });
    let cs = container_status(&p, "main");
    assert_eq!(cs["lastState"]["terminated"]["exitCode"], 3, "{cs}");
    assert_eq!(cs["lastState"]["terminated"]["reason"], "Error", "{cs}");
    wait_pod(&c, "crasher", "CrashLoopBackOff", 60, |p| {
        container_status(p, "main")["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    });
    let table = ok(&c, &["get", "pod", "crasher"]);
    assert!(
        table.contains("CrashLoopBackOff") || table.contains("Error"),
        "{table}"
    );
    wait_event(&c, "crasher", "BackOff", 30);
    let previous = ok(&c, &["logs", "crasher", "--previous"]);
    assert!(previous.starts_with("run at "), "{previous}");
    teardown(c);
}

#[test]
fn liveness_and_readiness_probes() {
    let c = cluster();
    let yaml = format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: probed
spec:
  nodeName: {node}
  terminationGracePeriodSeconds: 1
  containers:
  - name: live
    image: {IMAGE}
    command: ["sh", "-c", "touch /tmp/healthy; sleep 4; rm /tmp/healthy; sleep 3600"]
    livenessProbe:
      exec: {{command: ["cat", "/tmp/healthy"]}}
      periodSeconds: 1
      failureThreshold: 2
  - name: ready
    image: {IMAGE}
    command: ["sh", "-c", "mkdir /www; echo ok > /www/index.html; httpd -f -p 8081 -h /www"]
    readinessProbe:
      httpGet: {{path: /ready.html, port: 8081}}
      periodSeconds: 1
  - name: tcp
    image: {IMAGE}
    command: ["nc", "-ll", "-p", "8082", "-e", "true"]
    readinessProbe:
      tcpSocket: {{port: 8082}}
      periodSeconds: 1
"#,
        node = c.node_name
    );
    apply(&c, &yaml);
    let p = wait_pod(&c, "probed", "tcp ready, http not ready", 60, |p| {
        container_status(p, "tcp")["ready"] == true && p["status"]["phase"] == "Running"
    });
    assert_eq!(
        container_status(&p, "ready")["ready"],
        false,
        "{}",
        p["status"]
    );
    assert_eq!(condition(&p, "Ready"), "False");
    assert_eq!(condition(&p, "ContainersReady"), "False");
    // Make the readiness probe pass.
    ok(
        &c,
        &[
            "exec",
            "probed",
            "-c",
            "ready",
            "--",
            "sh",
            "-c",
            "echo ok > /www/ready.html",
        ],
    );
    wait_pod(&c, "probed", "ready container ready", 30, |p| {
        container_status(p, "ready")["ready"] == true
    });

    // Liveness fails after 4 s: Unhealthy, Killing, restart.
    wait_pod(&c, "probed", "liveness restart", 60, |p| {
        container_status(p, "live")["restartCount"]
            .as_i64()
            .unwrap_or(0)
            >= 1
    });
    let reasons = wait_event(&c, "probed", "Unhealthy", 10);
    assert!(reasons.iter().any(|r| r == "Killing"), "{reasons:?}");
    let events = ok(
        &c,
        &[
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=probed",
        ],
    );
    assert!(
        events.contains("Liveness probe failed") && events.contains("Readiness probe failed"),
        "{events}"
    );
    teardown(c);
}

#[test]
fn graceful_delete_honours_grace_period() {
    let c = cluster();
    // Handles SIGTERM: exits 2 s after it, well within its 20 s grace.
    apply(
        &c,
        &shell_pod(
            &c,
            "polite",
            "trap 'echo got TERM; sleep 2; exit 0' TERM; while true; do sleep 0.2; done",
            "  terminationGracePeriodSeconds: 20",
        ),
    );
    // Ignores SIGTERM: killed when its 3 s grace runs out.
    apply(
        &c,
        &shell_pod(
            &c,
            "stubborn",
            "trap '' TERM; while true; do sleep 0.2; done",
            "  terminationGracePeriodSeconds: 3",
        ),
    );
    wait_pod(&c, "polite", "Running", 60, running_ready);
    wait_pod(&c, "stubborn", "Running", 60, running_ready);

    let start = Instant::now();
    ok(&c, &["delete", "pod", "polite"]);
    let polite = start.elapsed();
    assert!(
        polite >= Duration::from_secs(2) && polite < Duration::from_secs(15),
        "polite took {polite:?}"
    );

    let start = Instant::now();
    ok(&c, &["delete", "pod", "stubborn"]);
    let stubborn = start.elapsed();
    assert!(
        stubborn >= Duration::from_secs(3) && stubborn < Duration::from_secs(15),
        "stubborn took {stubborn:?}"
    );
    teardown(c);
}

/// Ids of the containers with OCI state under `root` (either backend), one per line;
/// with `alive_only`, only those whose process still runs.
fn oci_containers(root: &std::path::Path, alive_only: bool) -> String {
    oci_states(root)
        .iter()
        .filter(|state| !alive_only || state.alive())
        .map(|state| format!("{}\n", state.id))
        .collect()
}

#[test]
fn agent_restart_keeps_containers_and_cleans_up_deleted_pods() {
    let mut c = cluster();
    // Fails once (restartCount 1), then runs for good.
    let yaml = shell_pod(
        &c,
        "keeper",
        "if [ -f /data/once ]; then exec sleep 3600; fi; touch /data/once; exit 1",
        "  terminationGracePeriodSeconds: 1\n  volumes:\n  - {name: data, emptyDir: {}}",
    )
    .replace(
        "    command:",
        "    volumeMounts:\n    - {name: data, mountPath: /data}\n    command:",
    );
    apply(&c, &yaml);
    apply(
        &c,
        &shell_pod(
            &c,
            "doomed",
            "exec sleep 3600",
            "  terminationGracePeriodSeconds: 1",
        ),
    );
    let before = wait_pod(&c, "keeper", "running after one restart", 90, |p| {
        running_ready(p) && container_status(p, "main")["restartCount"] == 1
    });
    let doomed = wait_pod(&c, "doomed", "Running", 60, running_ready);
    let doomed_id = container_status(&doomed, "main")["containerID"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let id = container_status(&before, "main")["containerID"].clone();

    // Restart the whole server: the containers keep running.
    c.stop();
    let oci_root = c.dir.path().join("agent/runtime/oci");
    let listed = oci_containers(&oci_root, true);
    let short = |id: &Value| {
        id.as_str()
            .unwrap_or_default()
            .split("://")
            .nth(1)
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        listed.contains(&short(&id)),
        "container stopped with the agent: {listed}"
    );

    // Delete one pod while the agent is away (control plane only, force delete).
    c.restart_with(&["--disable-agent"]);
    c.wait_until("API answers", Duration::from_secs(30), |c| {
        kubectl(c, &["get", "pods"]).status.success()
    });
    ok(
        &c,
        &["delete", "pod", "doomed", "--grace-period=0", "--force"],
    );
    c.stop();

    // Back with the agent: the kept pod is adopted unchanged; the deleted one is removed.
    c.restart_with(&[]);
    let after = wait_pod(&c, "keeper", "adopted", 60, |p| {
        running_ready(p) && container_status(p, "main")["containerID"] == id
    });
    assert_eq!(
        container_status(&after, "main")["restartCount"],
        1,
        "{}",
        after["status"]
    );
    let doomed_short = doomed_id
        .split("://")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let start = Instant::now();
    loop {
        let listed = oci_containers(&oci_root, false);
        if !listed.contains(&doomed_short) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(40),
            "container of the deleted pod still there: {listed}"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    teardown(c);
}

#[test]
fn agent_joins_a_server_with_the_token_and_runs_pods() {
    let c = Cluster::start_with(&[], &["--disable-agent"]);
    // The join token is the admin token (also in the kubeconfig).
    let kubeconfig = std::fs::read_to_string(&c.kubeconfig).unwrap_or_default();
    let token = kubeconfig
        .lines()
        .find_map(|l| l.trim().strip_prefix("token: "))
        .unwrap_or_default()
        .to_string();
    let agent_dir = c.dir.path().join("joined");
    std::fs::create_dir_all(agent_dir.join("agent/images")).unwrap();
    let archive = bootcamp_archive("v1");
    std::fs::copy(&archive, agent_dir.join("agent/images/bootcamp.tar")).unwrap();
    let bridge = format!("skj{}", std::process::id() % 100_000);
    let log = std::fs::File::create(c.dir.path().join("agent.log")).unwrap();
    let mut agent = std::process::Command::new(env!("CARGO_BIN_EXE_skiff"))
        .arg("agent")
        .args(["--server", &format!("https://127.0.0.1:{}", c.port)])
        .args(["--token", token.trim()])
        .arg("--data-dir")
        .arg(&agent_dir)
        .args([
            "--cluster-cidr",
            "10.251.0.0/16",
            "--node-name",
            "joined",
            "--node-ip",
            "127.0.0.1",
        ])
        .args([
            "--kubelet-port",
            &common::free_port().to_string(),
            "--cni-bridge",
            &bridge,
        ])
        .args(["--private-registry", "/nonexistent/registries.yaml"])
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .expect("skiff agent");
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        c.wait_until("joined node Ready", Duration::from_secs(60), |c| {
            String::from_utf8_lossy(&kubectl(c, &["get", "node", "joined"]).stdout)
                .contains(" Ready ")
        });
        let yaml = shell_pod(
            &c,
            "on-joined",
            "echo hi; exec sleep 3600",
            "  terminationGracePeriodSeconds: 1",
        )
        .replace(&format!("nodeName: {}", c.node_name), "nodeName: joined");
        apply(&c, &yaml);
        wait_pod(&c, "on-joined", "Running", 60, running_ready);
        // logs and exec go API server -> the joined agent's HTTPS API (its own serving cert).
        assert_eq!(ok(&c, &["logs", "on-joined"]), "hi\n");
        assert_eq!(
            ok(&c, &["exec", "on-joined", "--", "hostname"]),
            "on-joined\n"
        );
        ok(&c, &["delete", "pod", "on-joined"]);
    }));
    let _ = std::process::Command::new("kill")
        .arg(agent.id().to_string())
        .status();
    std::thread::sleep(Duration::from_secs(2));
    let _ = agent.kill();
    let _ = agent.wait();
    let _ = std::process::Command::new(common::repo_root().join("scripts/killall.sh"))
        .arg(&agent_dir)
        .arg(&bridge)
        .status();
    if let Err(panic) = result {
        eprintln!(
            "--- agent log ---\n{}",
            std::fs::read_to_string(c.dir.path().join("agent.log")).unwrap_or_default()
        );
        std::panic::resume_unwind(panic);
    }
    teardown(c);
}

/// `KUBERNETES_SERVICE_HOST` is the ClusterIP of `default/kubernetes`, so it follows the
/// server's `--service-cidr` (it was hard-coded to 10.43.0.1).
#[test]
fn service_host_env_follows_the_service_cidr() {
    let c = cluster_with(&["--service-cidr=10.77.0.0/16"]);
    let svc_ip = ok(
        &c,
        &[
            "get",
            "svc",
            "kubernetes",
            "-o",
            "jsonpath={.spec.clusterIP}",
        ],
    );
    assert_eq!(svc_ip, "10.77.0.1");
    apply(&c, &shell_pod(&c, "envcheck", "env; sleep 3600", ""));
    wait_pod(&c, "envcheck", "Running", 60, running_ready);
    let env = ok(&c, &["exec", "envcheck", "--", "env"]);
    assert!(
        env.contains("KUBERNETES_SERVICE_HOST=10.77.0.1\n"),
        "env:\n{env}"
    );
    teardown(c);
}

/// Each in-process component writes with its upstream User-Agent, so managedFields name
/// `kube-controller-manager` (the ReplicaSet and its pods) and `kubelet` (pod status), as on
/// any Kubernetes cluster.
#[test]
fn components_write_as_their_upstream_field_managers() {
    let c = cluster();
    ok(
        &c,
        &["create", "deployment", "mgr", &format!("--image={IMAGE}")],
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let managers = |what: &str| {
        ok(
            &c,
            &[
                "get",
                what,
                "-l",
                "app=mgr",
                "-o",
                "jsonpath={.items[*].metadata.managedFields[*].manager}",
            ],
        )
    };
    let (mut rs, mut pods) = (String::new(), String::new());
    while Instant::now() < deadline {
        rs = managers("rs");
        pods = managers("pods");
        if rs.contains("kube-controller-manager") && pods.contains("kubelet") {
            break;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(rs.contains("kube-controller-manager"), "rs managers: {rs}");
    assert!(
        pods.contains("kube-controller-manager") && pods.contains("kubelet"),
        "pod managers: {pods}"
    );
    teardown(c);
}
