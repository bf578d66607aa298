//! Live differential tests of `--dry-run=client|server` and `-o` on the commands that
//! change objects: both kubectls run on the same objects (a dry run changes nothing),
//! and the objects must be unchanged afterwards.

mod live;

use live::{Server, REAL};
use std::time::Duration;

const MANIFEST: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {app: web}\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n        image: busybox\n        ports:\n        - containerPort: 8080\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {a: b}\n  annotations: {q: \"1\"}\nspec:\n  containers:\n  - name: c\n    image: busybox\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm1\ndata: {a: \"1\"}\n";

const CM2: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm2\ndata: {b: \"2\"}\n";

const CASES: &[&[&str]] = &[
    &["label", "pod", "p", "x=1", "--dry-run=client"],
    &["label", "pod", "p", "x=1", "--dry-run=server"],
    &["label", "pod", "p", "a-", "--dry-run=client"],
    &["label", "pod", "p", "zz-", "--dry-run=server"],
    &["label", "pod", "p", "a=c", "--dry-run=server"],
    &["label", "pod", "p", "x=1", "--dry-run=client", "-o", "yaml"],
    &[
        "label",
        "pod",
        "p",
        "x=1",
        "--dry-run=server",
        "-o",
        "jsonpath={.metadata.labels}",
    ],
    &["label", "pod", "p", "x=1", "--dry-run=server", "-o", "name"],
    &["annotate", "pod", "p", "n=2", "--dry-run=client"],
    &["annotate", "pod", "p", "q=2", "--dry-run=client"],
    &[
        "annotate",
        "pod",
        "p",
        "q=2",
        "--overwrite",
        "--dry-run=server",
        "-o",
        "go-template={{.metadata.annotations.q}}",
    ],
    &["scale", "deploy", "web", "--replicas=3", "--dry-run=client"],
    &["scale", "deploy", "web", "--replicas=3", "--dry-run=server"],
    &[
        "scale",
        "deploy",
        "web",
        "--replicas=3",
        "--dry-run=server",
        "-o",
        "jsonpath={.spec.replicas}",
    ],
    &[
        "set",
        "image",
        "deploy/web",
        "web=nginx:1",
        "--dry-run=client",
    ],
    &[
        "set",
        "image",
        "deploy/web",
        "web=nginx:1",
        "--dry-run=server",
    ],
    &[
        "set",
        "image",
        "deploy/web",
        "web=nginx:1",
        "--dry-run=client",
        "-o",
        "name",
    ],
    &[
        "set",
        "image",
        "deploy/web",
        "web=nginx:1",
        "--dry-run=server",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
    ],
    &[
        "patch",
        "deploy",
        "web",
        "-p",
        r#"{"spec":{"replicas":5}}"#,
        "--dry-run=client",
    ],
    &[
        "patch",
        "deploy",
        "web",
        "-p",
        r#"{"spec":{"replicas":5}}"#,
        "--dry-run=server",
    ],
    &[
        "patch",
        "deploy",
        "web",
        "-p",
        r#"{"spec":{"replicas":1}}"#,
        "--dry-run=server",
    ],
    &[
        "patch",
        "deploy",
        "web",
        "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"q"}]}}}}"#,
        "--dry-run=client",
        "-o",
        "yaml",
    ],
    &[
        "patch",
        "deploy",
        "web",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/replicas","value":4}]"#,
        "--dry-run=client",
        "-o",
        "jsonpath={.spec.replicas}",
    ],
    &[
        "patch",
        "deploy",
        "web",
        "--type=merge",
        "-p",
        r#"{"metadata":{"labels":{"z":"1"}}}"#,
        "--dry-run=server",
        "-o",
        "jsonpath={.metadata.labels}",
    ],
    &["expose", "deploy", "web", "--port=80", "--dry-run=client"],
    &[
        "expose",
        "deploy",
        "web",
        "--port=80",
        "--dry-run=client",
        "-o",
        "yaml",
    ],
    &[
        "expose",
        "deploy",
        "web",
        "--port=80",
        "--dry-run=client",
        "-o",
        "json",
    ],
    &["expose", "deploy", "web", "--port=80", "--dry-run=server"],
    &[
        "expose",
        "deploy",
        "web",
        "--port=80",
        "--dry-run=server",
        "-o",
        "jsonpath={.spec.ports}",
    ],
    &["rollout", "restart", "deploy", "web", "--dry-run=client"],
    &["rollout", "pause", "deploy", "web", "--dry-run=server"],
    &["rollout", "history", "deploy", "web", "-o", "name"],
    &["rollout", "undo", "deploy", "web", "--dry-run=server"],
    &[
        "rollout",
        "undo",
        "deploy",
        "web",
        "--dry-run=server",
        "-o",
        "name",
    ],
    &["rollout", "undo", "deploy", "web", "--dry-run=client"],
    &["run", "r1", "--image=busybox", "--dry-run=server"],
    &[
        "run",
        "r1",
        "--image=busybox",
        "--dry-run=server",
        "-o",
        "name",
    ],
    &[
        "create",
        "cm",
        "c2",
        "--from-literal=a=b",
        "--dry-run=server",
        "-o",
        "jsonpath={.data} {.metadata.managedFields}",
    ],
    &[
        "create",
        "deployment",
        "d2",
        "--image=x",
        "--dry-run=server",
    ],
    &["delete", "cm", "cm1", "--dry-run=client"],
    &[
        "delete",
        "cm",
        "cm1",
        "cmx",
        "--dry-run=client",
        "-o",
        "name",
    ],
    &["delete", "cm", "cm1", "-o", "yaml"],
    &["delete", "cm", "cm1", "--dry-run=maybe"],
];

/// What the dry runs would change (generations, labels, annotations, data, replicas):
/// it must stay as it was; resourceVersions move with controller status updates.
fn versions(s: &Server) -> String {
    let o = s.kubectl(
        REAL,
        &[
            "get",
            "deploy,pod,cm,svc",
            "-o",
            "custom-columns=N:.metadata.name,G:.metadata.generation,L:.metadata.labels,A:.metadata.annotations.q,D:.data,S:.spec.replicas",
        ],
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn dry_runs_match_real_kubectl() {
    let Some(s) = Server::start() else { return };
    s.apply(MANIFEST);
    // a second revision for rollout undo
    let o = s.kubectl(REAL, &["set", "image", "deploy/web", "web=nginx:2"]);
    assert!(o.status.success());
    assert!(s.wait_until(Duration::from_secs(30), |s| {
        let o = s.kubectl(REAL, &["get", "rs", "-o", "name"]);
        String::from_utf8_lossy(&o.stdout).lines().count() == 2
    }));
    let before = versions(&s);
    let mut diffs = Vec::new();
    for c in CASES {
        if let Some(d) = s.diff(c) {
            diffs.push(d);
        }
    }
    let dir = s.dir.path();
    let one = dir.join("cm1.yaml").display().to_string();
    let two = dir.join("two.yaml").display().to_string();
    let _ = std::fs::write(
        &one,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm1\ndata: {a: \"2\"}\n",
    );
    let _ = std::fs::write(
        &two,
        format!(
            "{CM2}---\n{}",
            std::fs::read_to_string(&one).unwrap_or_default()
        ),
    );
    let bad = dir.join("bad.yaml").display().to_string();
    let _ = std::fs::write(
        &bad,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cmv\ndata: {a: \"1\"}\nbogus: 1\n",
    );
    let all = dir.join("all.yaml").display().to_string();
    let _ = std::fs::write(&all, MANIFEST);
    let missing = dir.join("missing.yaml").display().to_string();
    let _ = std::fs::write(
        &missing,
        format!("{MANIFEST}---\napiVersion: v1\nkind: Pod\nmetadata: {{name: nope}}\nspec: {{containers: [{{name: c, image: x}}]}}\n"),
    );
    for args in [
        vec!["label", "-f", &all, "x=1", "--dry-run=client"],
        vec!["label", "-f", &all, "x=1", "--local", "-o", "yaml"],
        vec!["label", "-f", &all, "x=1", "--local"],
        vec!["label", "-f", &missing, "x=1", "--dry-run=server"],
        vec!["label", "pod", "p", "x=1", "--local"],
        vec!["label", "pod", "p", "--list"],
        vec!["label", "pod", "p", "--list", "a-"],
        vec!["label", "pod", "p", "q=1", "--resource-version=1"],
        vec!["annotate", "-f", &all, "n=1", "--local", "-o", "name"],
        vec![
            "patch",
            "-f",
            &all,
            "-p",
            r#"{"metadata":{"labels":{"z":"1"}}}"#,
            "--local",
            "-o",
            "yaml",
        ],
        vec![
            "patch",
            "-f",
            &missing,
            "-p",
            r#"{"metadata":{"labels":{"z":"1"}}}"#,
            "--dry-run=server",
        ],
        vec![
            "set",
            "image",
            "-f",
            &all,
            "*=x",
            "--local",
            "-o",
            "jsonpath={..image}",
        ],
        vec!["set", "image", "-f", &missing, "web=x", "--dry-run=server"],
        vec![
            "scale",
            "deploy",
            "web",
            "--replicas=2",
            "--current-replicas=5",
        ],
        vec![
            "scale",
            "deploy",
            "web",
            "--replicas=2",
            "--resource-version=1",
        ],
        vec![
            "scale",
            "deploy",
            "web",
            "--replicas=2",
            "--current-replicas=5",
            "--dry-run=client",
        ],
        vec![
            "scale",
            "-f",
            &all,
            "--replicas=2",
            "--current-replicas=1",
            "--dry-run=server",
        ],
        vec!["create", "-f", &all, "--dry-run=server", "-o", "name"],
        vec!["create", "-f", &bad, "--dry-run=server"],
        vec!["create", "-f", &bad, "--dry-run=server", "--validate=false"],
        vec!["create", "-f", &bad, "--dry-run=server", "--validate=maybe"],
        vec!["apply", "-f", &bad, "--dry-run=server", "--validate=ignore"],
        vec![
            "create",
            "-f",
            &one,
            "--save-config",
            "--dry-run=client",
            "-o",
            "yaml",
        ],
        vec![
            "create",
            "-f",
            &one,
            "--save-config",
            "--dry-run=server",
            "-o",
            "jsonpath={.metadata.annotations}",
        ],
        vec![
            "create",
            "cm",
            "sc",
            "--from-literal=a=b",
            "--save-config",
            "--dry-run=client",
            "-o",
            "json",
        ],
        vec![
            "create",
            "deploy",
            "sd",
            "--image=x",
            "--save-config",
            "--dry-run=client",
            "-o",
            "yaml",
        ],
        vec![
            "run",
            "r",
            "--image=x",
            "--privileged",
            "--dry-run=client",
            "-o",
            "json",
        ],
        vec!["run", "r", "--image=x", "-it", "--dry-run=client"],
        vec![
            "run",
            "r",
            "--image=x",
            "--dry-run=client",
            "-o",
            "json",
            "--overrides",
            r#"{"spec":{"hostNetwork":true},"metadata":{"annotations":{"a":"b"}}}"#,
        ],
        vec![
            "run",
            "r",
            "--image=x",
            "--dry-run=client",
            "-o",
            "yaml",
            "--override-type=json",
            "--overrides",
            r#"[{"op":"add","path":"/spec/hostNetwork","value":true}]"#,
        ],
        vec![
            "expose",
            "deploy",
            "web",
            "--port=80",
            "--type=LoadBalancer",
            "--load-balancer-ip=1.2.3.4",
            "--dry-run=client",
            "-o",
            "json",
            "--overrides",
            r#"{"metadata":{"annotations":{"x":"y"}}}"#,
        ],
        vec!["apply", "-f", &one, "--dry-run=client"],
        vec!["apply", "-f", &one, "--dry-run=server"],
        vec![
            "apply",
            "-f",
            &one,
            "--dry-run=server",
            "-o",
            "jsonpath={.data}",
        ],
        vec!["apply", "-f", &two, "--dry-run=client"],
        vec!["apply", "-f", &two, "--dry-run=server", "-o", "name"],
        vec!["apply", "-f", &two, "--dry-run=client", "-o", "yaml"],
        vec!["apply", "-f", &two, "--dry-run=client", "-o", "json"],
        vec!["apply", "-f", &one, "--server-side", "--dry-run=server"],
        vec!["apply", "-f", &one, "--server-side", "--dry-run=client"],
    ] {
        if let Some(d) = s.diff(&args) {
            diffs.push(d);
        }
    }
    assert_eq!(versions(&s), before, "a dry run changed objects");
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}
