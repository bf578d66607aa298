//! Real kubectl writes: label, annotate, patch, replace, scale, apply (client and
//! server side), delete with finalizers, errors.

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_label_annotate_patch_replace_scale() {
    let t = common::start_server().await;
    t.ok_in(&["apply", "-f", "-"], common::DEPLOYMENT).await;
    let out = t.ok(&["label", "deploy", "web", "tier=front"]).await;
    assert!(out.contains("deployment.apps/web labeled"), "{out}");
    let out = t.ok(&["annotate", "deploy", "web", "note=hi"]).await;
    assert!(out.contains("annotated"), "{out}");
    let out = t
        .ok(&["get", "deploy", "-l", "tier=front", "-o", "name"])
        .await;
    assert_eq!(out.trim(), "deployment.apps/web");
    let out = t
        .ok(&["patch", "deploy", "web", "-p", r#"{"spec":{"replicas":3}}"#])
        .await;
    assert!(out.contains("patched"), "{out}");
    let out = t
        .ok(&[
            "patch",
            "deploy",
            "web",
            "--type=merge",
            "-p",
            r#"{"metadata":{"labels":{"x":"y"}}}"#,
        ])
        .await;
    assert!(out.contains("patched"), "{out}");
    let out = t
        .ok(&[
            "patch",
            "deploy",
            "web",
            "--type=json",
            "-p",
            r#"[{"op":"replace","path":"/spec/replicas","value":4}]"#,
        ])
        .await;
    assert!(out.contains("patched"), "{out}");
    let out = t.ok(&["scale", "deploy", "web", "--replicas=5"]).await;
    assert!(out.contains("scaled"), "{out}");
    let out = t.ok(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas} {.metadata.generation} {.metadata.labels.x} {.metadata.annotations.note}"]).await;
    assert_eq!(out, "5 4 y hi");
    let yaml = t.ok(&["get", "deploy", "web", "-o", "yaml"]).await;
    let out = t
        .ok_in(
            &["replace", "-f", "-"],
            &yaml.replace("replicas: 5", "replicas: 1"),
        )
        .await;
    assert!(out.contains("replaced"), "{out}");
    // Stale resourceVersion → 409 Conflict.
    let o = t.kubectl_in(&["replace", "-f", "-"], &yaml).await;
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("the object has been modified"), "{err}");
    let out = t
        .ok_in(
            &["apply", "--server-side", "--force-conflicts", "-f", "-"],
            &common::DEPLOYMENT.replace("replicas: 2", "replicas: 6"),
        )
        .await;
    assert!(out.contains("serverside-applied"), "{out}");
    let out = t
        .ok(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"])
        .await;
    assert_eq!(out, "6");
    let out = t
        .ok_in(
            &["apply", "--server-side", "-f", "-"],
            &common::DEPLOYMENT.replace("name: web\n  labels", "name: web2\n  labels"),
        )
        .await;
    assert!(
        out.contains("deployment.apps/web2 serverside-applied"),
        "{out}"
    );
    let out = t.ok(&["delete", "deploy", "web", "web2"]).await;
    assert!(out.contains("deleted"), "{out}");
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_errors_and_validation() {
    let t = common::start_server().await;
    let bad =
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: bad\nspec:\n  containers:\n  - name: c\n";
    let o = t.kubectl_in(&["create", "-f", "-"], bad).await;
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("spec.containers[0].image: Required value"),
        "{err}"
    );
    // (kubectl's `create ns` generator sends protobuf, which the server does not decode yet.)
    let o = t
        .kubectl_in(
            &["create", "-f", "-"],
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: default\n",
        )
        .await;
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("namespaces \"default\" already exists"),
        "{err}"
    );
    let o = t.kubectl(&["get", "pods", "-n", "nope", "x"]).await;
    assert!(String::from_utf8_lossy(&o.stderr).contains("not found"));
    let o = t
        .kubectl(&["run", "p", "--image=busybox", "-n", "missing"])
        .await;
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("namespaces \"missing\" not found"), "{err}");
    let o = t.kubectl(&["get", "foos"]).await;
    assert!(!o.status.success());
    // Unknown field with strict validation (kubectl's default).
    let unk = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\nfoo: bar\n";
    let o = t.kubectl_in(&["create", "-f", "-"], unk).await;
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("unknown field \"foo\""), "{err}");
    // Finalizers hold deletion until removed.
    let cm =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held\n  finalizers: [example.com/x]\n";
    t.ok_in(&["create", "-f", "-"], cm).await;
    t.ok(&["delete", "cm", "held", "--wait=false"]).await;
    let out = t
        .ok(&[
            "get",
            "cm",
            "held",
            "-o",
            "jsonpath={.metadata.deletionTimestamp}",
        ])
        .await;
    assert!(!out.is_empty());
    t.ok(&[
        "patch",
        "cm",
        "held",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ])
    .await;
    let o = t.kubectl(&["get", "cm", "held"]).await;
    assert!(!o.status.success());
    // Services get ClusterIPs; a taken one is refused.
    t.ok_in(&["create", "-f", "-"], "apiVersion: v1\nkind: Service\nmetadata:\n  name: s1\nspec:\n  ports:\n  - port: 80\n    targetPort: 8080\n").await;
    let ip = t
        .ok(&["get", "svc", "s1", "-o", "jsonpath={.spec.clusterIP}"])
        .await;
    assert!(ip.starts_with("10.43."), "{ip}");
    let dup = "apiVersion: v1\nkind: Service\nmetadata:\n  name: s2\nspec:\n  clusterIP: 10.43.0.1\n  ports:\n  - port: 80\n";
    let o = t.kubectl_in(&["create", "-f", "-"], dup).await;
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("provided IP is already allocated"), "{err}");
    t.server.shutdown().await;
}
