//! Request semantics against a real server through kube-rs (raw requests where the
//! typed API cannot express the case): delete options, dry run, terminating
//! namespaces, eviction, status subresources, request body errors.

mod common;

use common::{call, json};
use serde_json::{json, Value};

fn pod(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
           "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
}

const PODS: &str = "/api/v1/namespaces/default/pods";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_options_preconditions_propagation_and_grace() {
    let t = common::start_server().await;
    let c = t.client().await;
    // Preconditions: wrong uid and wrong resourceVersion are 409 Conflict.
    let (code, p) = json(&c, "POST", PODS, pod("pre")).await;
    assert_eq!(code, 201, "{p}");
    let uid = p["metadata"]["uid"].as_str().expect("uid").to_string();
    let rv = p["metadata"]["resourceVersion"]
        .as_str()
        .expect("rv")
        .to_string();
    let path = format!("{PODS}/pre");
    let (code, st) = json(
        &c,
        "DELETE",
        &path,
        json!({"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"uid": "nope"}}),
    )
    .await;
    assert_eq!(code, 409, "{st}");
    assert_eq!(st["reason"], "Conflict");
    assert_eq!(
        st["message"],
        format!("Operation cannot be fulfilled on pods \"pre\": Precondition failed: UID in precondition: nope, UID in object meta: {uid}")
    );
    let (code, st) = json(
        &c,
        "DELETE",
        &path,
        json!({"preconditions": {"resourceVersion": "1"}}),
    )
    .await;
    assert_eq!(code, 409, "{st}");
    assert!(st["message"]
        .as_str()
        .unwrap_or("")
        .contains("Precondition failed: ResourceVersion in precondition: 1"));
    // Matching preconditions delete (an unbound pod goes at once).
    let (code, st) = json(
        &c,
        "DELETE",
        &path,
        json!({"preconditions": {"uid": uid, "resourceVersion": rv}}),
    )
    .await;
    assert_eq!(code, 200, "{st}");
    assert_eq!(json(&c, "GET", &path, Value::Null).await.0, 404);

    // Graceful deletion of a bound pod: deletionTimestamp + grace period, then grace 0.
    let mut bound = pod("bound");
    bound["spec"]["nodeName"] = json!("n1");
    assert_eq!(json(&c, "POST", PODS, bound).await.0, 201);
    let path = format!("{PODS}/bound");
    let (code, p) = json(
        &c,
        "DELETE",
        &format!("{path}?gracePeriodSeconds=7"),
        Value::Null,
    )
    .await;
    assert_eq!(code, 200, "{p}");
    assert_eq!(p["metadata"]["deletionGracePeriodSeconds"], 7);
    assert!(p["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(json(&c, "GET", &path, Value::Null).await.0, 200);
    let (code, _) = json(&c, "DELETE", &path, json!({"gracePeriodSeconds": 0})).await;
    assert_eq!(code, 200);
    assert_eq!(json(&c, "GET", &path, Value::Null).await.0, 404);

    // propagationPolicy: Foreground and Orphan leave the object with their finalizer.
    for (policy, fin) in [("Foreground", "foregroundDeletion"), ("Orphan", "orphan")] {
        let name = format!("cm-{}", policy.to_lowercase());
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}});
        assert_eq!(
            json(&c, "POST", "/api/v1/namespaces/default/configmaps", cm)
                .await
                .0,
            201
        );
        let path = format!("/api/v1/namespaces/default/configmaps/{name}");
        let (code, o) = json(&c, "DELETE", &path, json!({"propagationPolicy": policy})).await;
        assert_eq!(code, 200, "{o}");
        assert_eq!(o["metadata"]["finalizers"], json!([fin]), "{o}");
        assert!(o["metadata"]["deletionTimestamp"].is_string());
        // Removing the finalizer completes the deletion.
        let (code, _) = call(
            &c,
            "PATCH",
            &path,
            "application/merge-patch+json",
            br#"{"metadata":{"finalizers":null}}"#.to_vec(),
        )
        .await;
        assert_eq!(code, 200);
        assert_eq!(json(&c, "GET", &path, Value::Null).await.0, 404);
    }
    let (code, st) = json(
        &c,
        "DELETE",
        &format!("{PODS}/x"),
        json!({"propagationPolicy": "Sideways"}),
    )
    .await;
    assert_eq!(code, 422, "{st}");
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_all_changes_nothing() {
    let t = common::start_server().await;
    let c = t.client().await;
    let (code, p) = json(&c, "POST", &format!("{PODS}?dryRun=All"), pod("dry")).await;
    assert_eq!(code, 201, "{p}");
    assert_eq!(p["metadata"]["name"], "dry");
    assert!(p["metadata"]["uid"].is_string());
    assert_eq!(
        json(&c, "GET", &format!("{PODS}/dry"), Value::Null).await.0,
        404
    );

    assert_eq!(json(&c, "POST", PODS, pod("real")).await.0, 201);
    let path = format!("{PODS}/real");
    let (_, before) = json(&c, "GET", &path, Value::Null).await;
    let mut changed = before.clone();
    changed["metadata"]["labels"] = json!({"dry": "run"});
    let (code, o) = json(&c, "PUT", &format!("{path}?dryRun=All"), changed).await;
    assert_eq!(code, 200, "{o}");
    assert_eq!(o["metadata"]["labels"]["dry"], "run");
    let (code, o) = call(
        &c,
        "PATCH",
        &format!("{path}?dryRun=All"),
        "application/merge-patch+json",
        br#"{"metadata":{"labels":{"p":"q"}}}"#.to_vec(),
    )
    .await;
    assert_eq!(code, 200, "{o}");
    assert_eq!(o["metadata"]["labels"]["p"], "q");
    let (code, o) = json(&c, "DELETE", &format!("{path}?dryRun=All"), Value::Null).await;
    assert_eq!(code, 200, "{o}");
    let (code, after) = json(&c, "GET", &path, Value::Null).await;
    assert_eq!(code, 200);
    assert_eq!(after, before, "dry runs changed the stored pod");
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_in_terminating_namespace_is_forbidden() {
    let t = common::start_server().await;
    let c = t.client().await;
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "doomed"}});
    assert_eq!(json(&c, "POST", "/api/v1/namespaces", ns).await.0, 201);
    // The namespace keeps its `kubernetes` finalizer (no namespace controller here).
    let (code, n) = json(&c, "DELETE", "/api/v1/namespaces/doomed", Value::Null).await;
    assert_eq!(code, 200, "{n}");
    assert_eq!(n["status"]["phase"], "Terminating");
    let (code, st) = json(
        &c,
        "POST",
        "/api/v1/namespaces/doomed/configmaps",
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "late"}}),
    )
    .await;
    assert_eq!(code, 403, "{st}");
    assert_eq!(st["reason"], "Forbidden");
    assert_eq!(
        st["message"],
        "configmaps \"late\" is forbidden: unable to create new content in namespace doomed because it is being terminated"
    );
    assert_eq!(st["details"]["causes"][0]["reason"], "NamespaceTerminating");
    assert_eq!(st["details"]["causes"][0]["field"], "metadata.namespace");
    // A missing namespace is 404 NotFound for the namespace.
    let (code, st) = json(
        &c,
        "POST",
        "/api/v1/namespaces/nowhere/configmaps",
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}),
    )
    .await;
    assert_eq!(code, 404, "{st}");
    assert_eq!(st["message"], "namespaces \"nowhere\" not found");
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eviction_and_status_subresource_split() {
    let t = common::start_server().await;
    let c = t.client().await;
    assert_eq!(json(&c, "POST", PODS, pod("ev")).await.0, 201);
    let ev = json!({"apiVersion": "policy/v1", "kind": "Eviction",
                    "metadata": {"name": "ev", "namespace": "default"}});
    let (code, st) = json(&c, "POST", &format!("{PODS}/ev/eviction"), ev.clone()).await;
    assert_eq!(code, 201, "{st}");
    assert_eq!(st["status"], "Success");
    assert_eq!(
        json(&c, "GET", &format!("{PODS}/ev"), Value::Null).await.0,
        404
    );
    let (code, st) = json(&c, "POST", &format!("{PODS}/ev/eviction"), ev).await;
    assert_eq!(code, 404, "{st}");

    // Deployment: a main-resource write ignores status; /status ignores spec.
    let dep: Value = serde_yaml::from_str(common::DEPLOYMENT).expect("yaml");
    let deps = "/apis/apps/v1/namespaces/default/deployments";
    assert_eq!(json(&c, "POST", deps, dep).await.0, 201);
    let path = format!("{deps}/web");
    let (code, d) = call(
        &c,
        "PATCH",
        &path,
        "application/merge-patch+json",
        br#"{"spec":{"replicas":5},"status":{"replicas":9}}"#.to_vec(),
    )
    .await;
    assert_eq!(code, 200, "{d}");
    assert_eq!(d["spec"]["replicas"], 5);
    assert!(d["status"].get("replicas").is_none(), "{d}");
    assert_eq!(d["metadata"]["generation"], 2);
    let (code, d) = call(
        &c,
        "PATCH",
        &format!("{path}/status"),
        "application/merge-patch+json",
        br#"{"spec":{"replicas":1},"status":{"replicas":3}}"#.to_vec(),
    )
    .await;
    assert_eq!(code, 200, "{d}");
    assert_eq!(d["spec"]["replicas"], 5);
    assert_eq!(d["status"]["replicas"], 3);
    assert_eq!(d["metadata"]["generation"], 2);
    let mut put = d.clone();
    put["spec"]["replicas"] = json!(2);
    put["status"]["replicas"] = json!(4);
    let (code, d) = json(&c, "PUT", &format!("{path}/status"), put).await;
    assert_eq!(code, 200, "{d}");
    assert_eq!(
        (
            d["spec"]["replicas"].clone(),
            d["status"]["replicas"].clone()
        ),
        (json!(5), json!(4))
    );
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_errors_413_415_400() {
    let t = common::start_server().await;
    let c = t.client().await;
    let cms = "/api/v1/namespaces/default/configmaps";
    // > 3 MiB.
    let big = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big"},
                     "data": {"a": "x".repeat(3 * 1024 * 1024 + 10)}});
    let (code, st) = json(&c, "POST", cms, big).await;
    assert_eq!(code, 413, "{st}");
    assert_eq!(st["reason"], "RequestEntityTooLarge");
    // Unknown content type.
    let (code, st) = call(&c, "POST", cms, "text/plain", b"hello".to_vec()).await;
    assert_eq!(code, 415, "{st}");
    assert_eq!(st["reason"], "UnsupportedMediaType");
    assert!(st["message"]
        .as_str()
        .unwrap_or("")
        .starts_with("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml"), "{st}");
    // Malformed JSON and YAML: 400 with Go's decoder wording.
    let (code, st) = call(&c, "POST", cms, "application/json", b"{\"a\": x}".to_vec()).await;
    assert_eq!(code, 400, "{st}");
    assert_eq!(st["reason"], "BadRequest");
    assert_eq!(st["message"], "the object provided is unrecognized (must be of type ConfigMap): couldn't get version/kind; json parse error: invalid character 'x' looking for beginning of value ({\"a\": x})");
    let (code, st) = call(&c, "POST", cms, "application/json", b"{\"a\": 1".to_vec()).await;
    assert_eq!(code, 400, "{st}");
    assert_eq!(st["message"], "the object provided is unrecognized (must be of type ConfigMap): couldn't get version/kind; json parse error: unexpected end of JSON input ({\"a\": 1)");
    let (code, st) = call(
        &c,
        "POST",
        cms,
        "application/yaml",
        b"kind: ConfigMap\nmetadata:\n  name: y\n   bad: [\n".to_vec(),
    )
    .await;
    assert_eq!(code, 400, "{st}");
    assert!(st["message"]
        .as_str()
        .unwrap_or("")
        .starts_with("the object provided is unrecognized (must be of type ConfigMap): error converting YAML to JSON: yaml: line "), "{st}");
    // The server still works.
    let ok = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fine"}});
    assert_eq!(json(&c, "POST", cms, ok).await.0, 201);
    t.server.shutdown().await;
}
