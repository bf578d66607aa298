//! Live differential tests for `get`: the real kubectl 1.33 and ours against one skiff
//! control plane (no node agent; pods stay Pending), every output byte compared.

mod live;

use live::Server;
use std::time::Duration;

/// The tutorial's objects plus a cluster-scoped node and a pod in another namespace.
pub const MANIFEST: &str = include_str!("live_get_manifest.yaml");

/// Starts a server and creates [`MANIFEST`], waiting for the deployment's pods.
pub fn populated() -> Option<Server> {
    let s = Server::start()?;
    s.apply(MANIFEST);
    let ok = s.wait_until(Duration::from_secs(30), |s| {
        let o = s.kubectl(live::REAL, &["get", "pods", "-o", "name"]);
        String::from_utf8_lossy(&o.stdout).lines().count() == 2
    });
    assert!(ok, "deployment pods did not appear");
    Some(s)
}

const CASES: &[&[&str]] = &[
    &["get", "pods"],
    &["get", "pods", "-o", "wide"],
    &["get", "deploy"],
    &["get", "deployments", "-o", "wide"],
    &["get", "rs", "-o", "wide"],
    &["get", "nodes"],
    &["get", "nodes", "-o", "wide"],
    &["get", "ns"],
    &["get", "ns", "-A"],
    &["get", "svc"],
    &["get", "svc", "-o", "wide"],
    &["get", "events"],
    &["get", "ev", "-A", "-o", "wide"],
    &["get", "pods", "-A"],
    &["get", "pods", "-A", "-o", "wide"],
    &["get", "pods", "-l", "app=kubernetes-bootcamp"],
    &["get", "pods", "-l", "app=nope"],
    &["get", "pods", "--show-labels"],
    &["get", "pods", "-L", "app"],
    &["get", "pods", "--sort-by=.metadata.name"],
    &["get", "pods", "--no-headers"],
    &["get", "deploy,rs,svc"],
    &["get", "all"],
    &["get", "all", "-A"],
    &["get", "po,no", "-A"],
    &["get", "no,po", "-A"],
    &["get", "deploy/kubernetes-bootcamp"],
    &["get", "deployment", "kubernetes-bootcamp", "-o", "yaml"],
    &["get", "pods", "-o", "yaml"],
    &["get", "pods", "-o", "json"],
    &["get", "svc", "-o", "json"],
    &["get", "nodes", "-o", "yaml"],
    &["get", "pod", "solo", "-n", "kube-system", "-o", "yaml"],
    &["get", "ns", "default", "-o", "json"],
    &["get", "pods", "-o", "name"],
    &["get", "all", "-o", "name"],
    &["get", "pods,deploy", "-o", "name"],
    &[
        "get",
        "pods",
        "-o",
        r#"go-template={{range .items}}{{.metadata.name}}{{"\n"}}{{end}}"#,
    ],
    &["get", "pods", "-o", "jsonpath={.items[*].metadata.name}"],
    &[
        "get",
        "pods",
        "-o",
        r#"jsonpath={range .items[*]}{.metadata.name}{"\t"}{.status.phase}{"\n"}{end}"#,
    ],
    &[
        "get",
        "pods",
        "-o",
        "custom-columns=NAME:.metadata.name,IMG:.spec.containers[0].image",
    ],
    &["get", "pod", "nope"],
    &["get", "pods", "nope", "nope2"],
    &["get", "deploy", "nope", "-o", "yaml"],
    &["get", "pod", "nope", "--ignore-not-found"],
    &["get", "foo"],
    &["get", "jobs"],
    &["get", "pods", "-n", "nope"],
    &["api-versions"],
    &[
        "wait",
        "--for=condition=Available",
        "deploy/kubernetes-bootcamp",
        "--timeout=1s",
    ],
    &["wait", "--for=delete", "pod/nope", "--timeout=1s"],
    &[
        "wait",
        "--for=condition=PodScheduled=false",
        "pod/solo",
        "-n",
        "kube-system",
        "--timeout=2s",
    ],
    &[
        "wait",
        "--for=jsonpath={.status.phase}=Pending",
        "pod/solo",
        "-n",
        "kube-system",
    ],
    &["wait", "--for=condition=Ready", "pod/nope"],
    &["wait", "pod/solo"],
    &[
        "wait",
        "--for=condition=PodScheduled=false",
        "pods",
        "-n",
        "kube-system",
        "--all",
        "--timeout=2s",
    ],
    &["version", "--client"],
    &["explain", "pods"],
    &["explain", "deploy.spec.replicas"],
    &["explain", "deployment.spec.replicas"],
    &["explain", "pods", "--recursive"],
    &["explain", "deploy", "--recursive"],
    &["explain", "pods.spec.containers"],
    &["explain", "pods.spec.containers.resources.limits"],
    &["explain", "pods.metadata.labels"],
    &["explain", "pods.spec.nope"],
    &["explain", "pods.spec.nodeName.x"],
    &["explain", "svc.spec.ports.targetPort"],
    &["explain", "deploy.spec.strategy", "--recursive"],
    &["explain", "nodes.status.conditions"],
    &["explain", "events.events.k8s.io"],
    &["explain", "leases.spec"],
    &["explain", "cm", "--output=plaintext"],
    &["explain", "pods", "-o", "plaintext"],
    &["explain"],
    &["explain", "foo"],
    &["logs", "deploy/kubernetes-bootcamp"],
    &["logs", "-l", "app=none"],
    &["logs", "solo", "-n", "kube-system"],
    &["logs"],
    &["logs", "nope"],
    &["logs", "solo", "-c", "b", "-n", "kube-system"],
    &["logs", "solo", "b", "-n", "kube-system"],
    &["logs", "solo", "-n", "kube-system", "--all-containers"],
    &["cp", "/etc/hostname", "solo:/tmp/x", "-n", "kube-system"],
    &["cp", "solo:/tmp/x", "/nonexistent/y", "-n", "kube-system"],
    &["cp", "a", "b"],
    &["cp", "/nonexistent", "solo:/tmp"],
    &["api-resources"],
    &["api-resources", "-o", "wide"],
    &["api-resources", "-o", "name"],
    &["api-resources", "--namespaced=false"],
    &[
        "run",
        "r",
        "--image=busybox",
        "--port=80",
        "--labels=a=b",
        "--dry-run=client",
        "-o",
        "json",
        "--",
        "sleep",
        "10",
    ],
    &[
        "run",
        "r",
        "--image=busybox",
        "--dry-run=client",
        "-o",
        "yaml",
        "--command",
        "--",
        "sh",
        "-c",
        "echo hi",
    ],
    &[
        "run",
        "r",
        "--image=busybox",
        "--env=A=1",
        "--restart=Never",
        "--dry-run=client",
        "-o",
        "yaml",
    ],
    &["run"],
    &["run", "x"],
    &["cordon", "nope"],
    &["exec", "solo", "-n", "kube-system", "env"],
    &["exec", "solo", "-n", "kube-system", "--", "env"],
    &["exec", "nope", "--", "env"],
    &["exec"],
    &["exec", "solo"],
    &["exec", "deploy/kubernetes-bootcamp", "--", "env"],
    &["attach", "solo", "-n", "kube-system"],
    &["port-forward", "solo", "-n", "kube-system", "8080"],
    &["port-forward", "deploy/kubernetes-bootcamp", "8080"],
];

#[test]
fn get_matches_real_kubectl() {
    let Some(s) = populated() else { return };
    let diffs: Vec<String> = CASES.iter().filter_map(|c| s.diff(c)).collect();
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

/// Runs `get … -w` with both kubectls while a label changes; compares what they printed.
fn watch_diff(s: &Server, flags: &[&str], n: usize) -> Option<String> {
    let spawn = |bin: &str| {
        std::process::Command::new("timeout")
            .arg("4")
            .arg(bin)
            .args(["get", "pods", "-n", "kube-system"])
            .args(flags)
            .env("KUBECONFIG", &s.kubeconfig)
            .env("HOME", s.dir.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .ok()
    };
    let (Some(a), Some(b)) = (spawn(live::REAL), spawn(live::OURS)) else {
        return Some("cannot spawn".into());
    };
    std::thread::sleep(Duration::from_millis(1500));
    let o = s.kubectl(
        live::REAL,
        &[
            "label",
            "pod",
            "solo",
            "-n",
            "kube-system",
            &format!("w=v{n}"),
            "--overwrite",
        ],
    );
    assert!(o.status.success());
    let (Ok(a), Ok(b)) = (a.wait_with_output(), b.wait_with_output()) else {
        return Some("cannot wait".into());
    };
    let (sa, sb) = (live::norm(&a.stdout), live::norm(&b.stdout));
    (sa != sb).then(|| format!("{flags:?}\n--- real\n{sa}--- ours\n{sb}"))
}

#[test]
fn watch_matches_real_kubectl() {
    let Some(s) = populated() else { return };
    let cases: &[&[&str]] = &[
        &["-w"],
        &["-w", "--output-watch-events", "-o", "wide"],
        &["--watch-only"],
        &["-w", "-l", "tier=x"],
        &["solo", "-w"],
    ];
    let diffs: Vec<String> = cases
        .iter()
        .enumerate()
        .filter_map(|(n, c)| watch_diff(&s, c, n))
        .collect();
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}
