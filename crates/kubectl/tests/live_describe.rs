//! Live differential tests for `describe` (pods, deployments, replica sets, nodes,
//! services, namespaces) against the real kubectl 1.33 on one skiff control plane.

mod live;

use live::{Server, REAL};
use std::time::Duration;

const MANIFEST: &str = include_str!("live_get_manifest.yaml");
const RICH: &str = include_str!("live/rich.yaml");

const CASES: &[&[&str]] = &[
    &["describe", "pods"],
    &["describe", "pod", "rich"],
    &["describe", "pod", "solo", "-n", "kube-system"],
    &["describe", "pods", "-A"],
    &["describe", "pods", "-l", "app=kubernetes-bootcamp"],
    &["describe", "pods", "-l", "app=none"],
    &["describe", "pod", "kubernetes-bootcamp"],
    &["describe", "pod", "nope"],
    &["describe", "pod", "nope", "nope2"],
    &["describe", "pod/nope"],
    &["describe"],
    &["describe", "deploy"],
    &["describe", "deploy/kubernetes-bootcamp"],
    &["describe", "rs"],
    &["describe", "node"],
    &["describe", "no", "--show-events=false"],
    &["describe", "svc"],
    &["describe", "deploy,svc"],
    &["describe", "ns"],
    &["describe", "ns", "default", "kube-system"],
];

#[test]
fn describe_matches_real_kubectl() {
    let Some(s) = Server::start() else { return };
    s.apply(MANIFEST);
    s.apply(RICH);
    let two_pods = |s: &Server| {
        let o = s.kubectl(REAL, &["get", "pods", "-o", "name", "-l", "app"]);
        String::from_utf8_lossy(&o.stdout).lines().count() == 2
    };
    assert!(s.wait_until(Duration::from_secs(30), two_pods));
    // a rollout leaves an old and a new ReplicaSet
    let o = s.kubectl(
        REAL,
        &[
            "set",
            "image",
            "deploy/kubernetes-bootcamp",
            "kubernetes-bootcamp=nginx",
        ],
    );
    assert!(o.status.success());
    assert!(s.wait_until(Duration::from_secs(30), |s| {
        let o = s.kubectl(REAL, &["get", "rs", "-o", "name"]);
        String::from_utf8_lossy(&o.stdout).lines().count() == 2
    }));
    std::thread::sleep(Duration::from_secs(1));
    let diffs: Vec<String> = CASES.iter().filter_map(|c| s.diff(c)).collect();
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}
