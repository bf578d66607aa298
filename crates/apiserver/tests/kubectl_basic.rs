//! Real kubectl against a real server: namespaces, apply, get with every printer.

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_get_namespaces_and_apply_deployment() {
    let t = common::start_server().await;
    let out = t.ok(&["get", "ns"]).await;
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        assert!(out.contains(ns), "{out}");
    }
    assert!(out.contains("Active"), "{out}");
    let out = t.ok_in(&["apply", "-f", "-"], common::DEPLOYMENT).await;
    assert!(out.contains("deployment.apps/web created"), "{out}");
    let out = t
        .ok(&["get", "deploy,rs,pods,nodes", "-A", "-o", "wide"])
        .await;
    assert!(out.contains("deployment.apps/web"), "{out}");
    let out = t
        .ok(&[
            "get",
            "deploy",
            "web",
            "-o",
            "go-template={{.metadata.name}} {{.spec.replicas}} {{.metadata.generation}}",
        ])
        .await;
    assert_eq!(out, "web 2 1");
    let out = t
        .ok(&[
            "get",
            "svc",
            "kubernetes",
            "-o",
            "jsonpath={.spec.clusterIP}",
        ])
        .await;
    assert_eq!(out, "10.43.0.1");
    // Apply again: unchanged.
    let out = t.ok_in(&["apply", "-f", "-"], common::DEPLOYMENT).await;
    assert!(out.contains("unchanged"), "{out}");
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_pod_lifecycle() {
    let t = common::start_server().await;
    let out = t
        .ok(&["run", "p1", "--image=busybox", "--", "sleep", "3600"])
        .await;
    assert!(out.contains("pod/p1 created"), "{out}");
    let out = t.ok(&["get", "pods"]).await;
    assert!(out.contains("p1"), "{out}");
    let out = t
        .ok(&[
            "get",
            "pod",
            "p1",
            "-o",
            "jsonpath={.spec.restartPolicy}/{.status.phase}",
        ])
        .await;
    assert!(out.ends_with("/Pending"), "{out}");
    let o = t.kubectl(&["get", "pod", "nope"]).await;
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("pods \"nope\" not found"));
    let out = t.ok(&["delete", "pod", "p1"]).await;
    assert!(out.contains("pod \"p1\" deleted"), "{out}");
    let out = t.ok(&["get", "pods", "-o", "name"]).await;
    assert!(out.trim().is_empty(), "{out}");
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_versions_1_27_to_1_33_get_and_apply() {
    // Every version applies (1.27/1.28 read /openapi/v2 as protobuf first).
    let t = common::start_server().await;
    for v in 27..=33 {
        let bin = format!("/usr/lib/google-cloud-sdk/bin/kubectl.1.{v}");
        let o = t
            .kubectl_with(&bin, &["get", "ns", "kube-system"], None)
            .await;
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success() && out.contains("Active"),
            "1.{v}: {out} {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let cm =
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: v{v}\ndata:\n  a: b\n");
        let o = t.kubectl_with(&bin, &["apply", "-f", "-"], Some(&cm)).await;
        assert!(
            o.status.success(),
            "1.{v} apply: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        // A second apply with a change goes through the three-way patch path.
        let cm2 = cm.replace("a: b", "a: c");
        let o = t
            .kubectl_with(&bin, &["apply", "-f", "-"], Some(&cm2))
            .await;
        assert!(
            o.status.success(),
            "1.{v} re-apply: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let o = t
            .kubectl_with(
                &bin,
                &["get", "cm", &format!("v{v}"), "-o", "jsonpath={.data.a}"],
                None,
            )
            .await;
        assert_eq!(String::from_utf8_lossy(&o.stdout), "c", "1.{v}");
    }
    t.server.shutdown().await;
}
