//! `skiff server` flags that change API behaviour, checked through the real kubectl.

mod common;

use common::Cluster;
use std::time::Duration;

#[test]
fn default_toleration_seconds_flags_reach_new_pods() {
    let cluster = Cluster::start_with(
        &[],
        &[
            "--disable-agent",
            "--default-not-ready-toleration-seconds=17",
            "--default-unreachable-toleration-seconds=23",
        ],
    );
    let kubectl = ["/usr/bin/kubectl"];
    cluster.wait_until("API server answering", Duration::from_secs(30), |c| {
        c.kubectl(&kubectl, &["get", "ns", "default"])
            .status
            .success()
    });
    let created = cluster.kubectl(&kubectl, &["run", "p", "--image=busybox"]);
    assert!(created.status.success(), "{created:?}");
    let out = cluster.kubectl(
        &kubectl,
        &[
            "get",
            "pod",
            "p",
            "-o",
            r#"jsonpath={range .spec.tolerations[*]}{.key}={.tolerationSeconds}{"\n"}{end}"#,
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("node.kubernetes.io/not-ready=17"), "{text}");
    assert!(text.contains("node.kubernetes.io/unreachable=23"), "{text}");
}

#[test]
fn server_side_dry_run_delete_keeps_the_object() {
    let cluster = Cluster::start_with(&[], &["--disable-agent"]);
    let kubectl = ["/usr/bin/kubectl"];
    cluster.wait_until("API server answering", Duration::from_secs(30), |c| {
        c.kubectl(&kubectl, &["get", "ns", "default"])
            .status
            .success()
    });
    let created = cluster.kubectl(
        &kubectl,
        &["create", "configmap", "keep", "--from-literal=a=b"],
    );
    assert!(created.status.success(), "{created:?}");
    // kubectl sends dryRun in the DeleteOptions body, not in the query.
    let deleted = cluster.kubectl(
        &kubectl,
        &["delete", "configmap", "keep", "--dry-run=server"],
    );
    assert!(deleted.status.success(), "{deleted:?}");
    assert!(
        String::from_utf8_lossy(&deleted.stdout).contains("(server dry run)"),
        "{deleted:?}"
    );
    let still = cluster.kubectl(&kubectl, &["get", "configmap", "keep"]);
    assert!(
        still.status.success(),
        "dry-run delete removed the object: {still:?}"
    );
}

/// Duration flags take Go's syntax, as kube-controller-manager's do: `1m30s` starts a
/// server; a bare number is refused with Go's message before anything starts.
#[test]
fn duration_flags_take_go_syntax() {
    let dir = tempfile::tempdir().expect("temp dir");
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_skiff"))
        .args([
            "server",
            "--disable-agent",
            "--node-monitor-grace-period=40",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .expect("run skiff");
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("time: missing unit in duration \"40\""),
        "{stderr}"
    );
    let cluster = Cluster::start_with(
        &[],
        &["--disable-agent", "--node-monitor-grace-period=1m30s"],
    );
    cluster.wait_until("API server answering", Duration::from_secs(30), |c| {
        c.kubectl(&["/usr/bin/kubectl"], &["get", "ns", "default"])
            .status
            .success()
    });
}
