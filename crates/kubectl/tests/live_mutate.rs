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
    &["label", "pods", "p-@", "version=v1"],
    &["label", "pods", "p-@", "version=v2"],
    &["label", "pods", "p-@", "version=v2", "--overwrite"],
    &["label", "pods", "p-@", "version=v2", "--overwrite"],
    &["label", "pods", "p-@", "version-"],
    &["label", "pods", "p-@", "version-"],
    &["annotate", "pods", "p-@", "note=hi"],
    &["scale", "deployments/@", "--replicas=3"],
    &["scale", "deploy", "@"],
    &["set", "image", "deployments/@", "@=nginx:2"],
    &["set", "image", "deployments/@", "zz=nginx:2"],
    &["rollout", "history", "deployment/@"],
    &["rollout", "undo", "deployments/@"],
    &["rollout", "history", "deployment/@"],
    &["rollout", "restart", "deploy/@"],
    &["rollout", "pause", "deploy/@"],
    &["rollout", "pause", "deploy/@"],
    &["rollout", "resume", "deploy/@"],
    &["rollout", "resume", "deploy/@"],
    &["patch", "deploy", "@", "-p", r#"{"spec":{"replicas":1}}"#],
    &["patch", "deploy", "@", "-p", r#"{"spec":{"replicas":1}}"#],
    &[
        "patch",
        "deploy",
        "@",
        "--type=merge",
        "-p",
        r#"{"metadata":{"labels":{"z":"1"}}}"#,
    ],
    &[
        "patch",
        "deploy",
        "@",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/replicas","value":2}]"#,
    ],
    &["patch", "deploy", "@"],
    &[
        "expose",
        "deployment/@",
        "--type=NodePort",
        "--port",
        "8080",
    ],
    &[
        "expose",
        "deployment",
        "@",
        "--port",
        "80",
        "--target-port",
        "8080",
        "--name=@-2",
    ],
    &["expose", "deployment", "@"],
    &["rollout", "status", "deploy/@", "--watch=false"],
    &["cluster-info"],
    &["cordon", "@"],
    &["cordon", "@"],
    &["drain", "@"],
    &["uncordon", "node/@"],
    &["uncordon", "@"],
    &["run", "run-@", "--image=busybox"],
    &["run", "run-@", "--image=busybox"],
    &["delete", "pod", "p-@"],
    &["delete", "pod", "p-@"],
    &["delete", "pod", "p-@", "--ignore-not-found"],
    &["delete", "deploy/@", "svc/@"],
    &["delete", "svc", "-l", "app=@"],
    &["delete"],
];

/// Runs `edit` with a scripted editor on both twins.
fn edit_diffs(s: &Server) -> Vec<String> {
    let mut diffs = Vec::new();
    for editor in ["sed -i s/replicas:.[0-9]/replicas:\\ 2/", "true", "false"] {
        let run = |bin: &str, name: &str| {
            std::process::Command::new(bin)
                .args(["edit", "deploy", name])
                .env("KUBECONFIG", &s.kubeconfig)
                .env("EDITOR", editor)
                .output()
        };
        let (Ok(a), Ok(b)) = (run(REAL, "zqa"), run(live::OURS, "zqb")) else {
            diffs.push(format!("cannot run edit with {editor}"));
            continue;
        };
        let fix = |v: &[u8]| String::from_utf8_lossy(v).replace("zqb", "zqa");
        if (fix(&b.stdout), fix(&b.stderr), b.status.code())
            != (fix(&a.stdout), fix(&a.stderr), a.status.code())
        {
            diffs.push(format!("edit with {editor}: real {a:?} ours {b:?}"));
        }
    }
    diffs
}

#[test]
fn mutations_match_real_kubectl() {
    let Some(s) = Server::start() else { return };
    s.apply(&format!(
        "{}---\n{}---\n{}---\n{}",
        deployment("zqa"),
        deployment("zqb"),
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: zqa\n",
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: zqb\n"
    ));
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
    diffs.extend(edit_diffs(&s));
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

fn applied(name: &str, replicas: u32, ports: bool, label: bool) -> String {
    let ports = if ports {
        "\n        ports:\n        - containerPort: 8080\n        - containerPort: 9090"
    } else {
        ""
    };
    let label = if label { "\n  labels: {x: v1}" } else { "" };
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}{label}\nspec:\n  replicas: {replicas}\n  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      containers:\n      - name: {name}\n        image: busybox\n        env:\n        - {{name: A, value: \"1\"}}{ports}\n"
    )
}

#[test]
fn apply_matches_real_kubectl() {
    let Some(s) = Server::start() else { return };
    let dir = s.dir.path().to_path_buf();
    let mut diffs = Vec::new();
    // create, unchanged, drop fields (three-way deletions), add them back, server-side
    for (n, (replicas, ports, label)) in [
        (1, true, true),
        (1, true, true),
        (2, false, false),
        (2, true, true),
    ]
    .into_iter()
    .enumerate()
    {
        for name in ["zqa", "zqb"] {
            let _ = std::fs::write(
                dir.join(format!("{name}.yaml")),
                applied(name, replicas, ports, label),
            );
        }
        let file = dir.join("@.yaml").display().to_string();
        if let Some(d) = s.diff_twin(&["apply", "-f", &file], "zqa", "zqb") {
            diffs.push(format!("step {n}: {d}"));
        }
        let state = |name: &str| {
            let o = s.kubectl(REAL, &["get", "deploy", name, "-o", "json"]);
            let v: serde_json::Value = serde_json::from_slice(&o.stdout)
                .unwrap_or_else(|_| serde_json::json!(String::from_utf8_lossy(&o.stderr)));
            let pick = serde_json::json!([
                v.pointer("/spec/template/spec/containers/0/ports"),
                v.pointer("/spec/replicas"),
                v.pointer("/metadata/labels"),
                v.pointer(
                    "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration"
                ),
            ]);
            if v.is_string() {
                return v.to_string();
            }
            pick.to_string().replace(name, "NAME")
        };
        assert_eq!(
            state("zqb"),
            state("zqa"),
            "object state after step {n}; {diffs:?}"
        );
    }
    let file = dir.join("@.yaml").display().to_string();
    if let Some(d) = s.diff_twin(
        &["apply", "--server-side", "--force-conflicts", "-f", &file],
        "zqa",
        "zqb",
    ) {
        diffs.push(d);
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}
