//! Live differential tests for commands that change objects (label, annotate, scale,
//! set image, patch, rollout, expose, cluster-info): the real kubectl works on one
//! object, ours on its twin, and the outputs must match with the names unified.

mod live;

use live::{Server, REAL};
use std::time::Duration;

fn deployment(name: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  labels: {{app: {name}}}\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      containers:\n      - name: {name}\n        image: busybox\n        ports:\n        - containerPort: 8080\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p-{name}\nspec:\n  containers:\n  - name: c\n    image: busybox\n"
    )
}

const CASES: &[&[&str]] = &[
    &["label", "pods", "p-X", "version=v1"],
    &["label", "pods", "p-X", "version=v2"],
    &["label", "pods", "p-X", "version=v2", "--overwrite"],
    &["label", "pods", "p-X", "version=v2", "--overwrite"],
    &["label", "pods", "p-X", "version-"],
    &["label", "pods", "p-X", "version-"],
    &["annotate", "pods", "p-X", "note=hi"],
    &["scale", "deployments/X", "--replicas=3"],
    &["scale", "deploy", "X"],
    &["set", "image", "deployments/X", "X=nginx:2"],
    &["set", "image", "deployments/X", "zz=nginx:2"],
    &["rollout", "history", "deployment/X"],
    &["rollout", "undo", "deployments/X"],
    &["rollout", "history", "deployment/X"],
    &["rollout", "restart", "deploy/X"],
    &["rollout", "pause", "deploy/X"],
    &["rollout", "pause", "deploy/X"],
    &["rollout", "resume", "deploy/X"],
    &["rollout", "resume", "deploy/X"],
    &["patch", "deploy", "X", "-p", r#"{"spec":{"replicas":1}}"#],
    &["patch", "deploy", "X", "-p", r#"{"spec":{"replicas":1}}"#],
    &[
        "patch",
        "deploy",
        "X",
        "--type=merge",
        "-p",
        r#"{"metadata":{"labels":{"z":"1"}}}"#,
    ],
    &[
        "patch",
        "deploy",
        "X",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/replicas","value":2}]"#,
    ],
    &["patch", "deploy", "X"],
    &[
        "expose",
        "deployment/X",
        "--type=NodePort",
        "--port",
        "8080",
    ],
    &[
        "expose",
        "deployment",
        "X",
        "--port",
        "80",
        "--target-port",
        "8080",
        "--name=X-2",
    ],
    &["expose", "deployment", "X"],
    &["rollout", "status", "deploy/X", "--watch=false"],
    &["cluster-info"],
];

#[test]
fn mutations_match_real_kubectl() {
    let Some(s) = Server::start() else { return };
    s.apply(&format!("{}---\n{}", deployment("zqa"), deployment("zqb")));
    assert!(s.wait_until(Duration::from_secs(30), |s| {
        let o = s.kubectl(REAL, &["get", "rs", "-o", "name"]);
        String::from_utf8_lossy(&o.stdout).lines().count() == 2
    }));
    let mut diffs = Vec::new();
    for c in CASES {
        if let Some(d) = s.diff_twin(c, "zqa", "zqb") {
            diffs.push(d);
        }
        // let the controllers catch up (new ReplicaSets, revisions)
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}
