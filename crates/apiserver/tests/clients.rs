//! Watch through real clients: kubectl get -w (Table watch), the Python client and kube-rs.

mod common;

use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_get_pods_watch_prints_table_rows() {
    let t = common::start_server().await;
    t.ok(&["run", "w1", "--image=busybox"]).await;
    let kc = t.kubeconfig.clone();
    let home = t.dir.path().join("home");
    let child = tokio::process::Command::new("/usr/bin/kubectl")
        .env("KUBECONFIG", &kc)
        .env("HOME", &home)
        .args(["get", "pods", "-w", "--request-timeout=8s"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    t.ok(&["run", "w2", "--image=busybox"]).await;
    t.ok(&["label", "pod", "w1", "a=b"]).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let pid = child.id().expect("pid");
    let _ = std::process::Command::new("kill")
        .arg(pid.to_string())
        .status();
    let out = child.wait_with_output().await.expect("output");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines
            .first()
            .map(|l| l.starts_with("NAME") && l.contains("READY") && l.contains("STATUS"))
            .unwrap_or(false),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("w2 ") && l.contains("Pending")),
        "{text}"
    );
    assert!(
        lines.iter().filter(|l| l.starts_with("w1 ")).count() >= 2,
        "{text}"
    );
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_client_crud_and_watch() {
    let t = common::start_server().await;
    let script = r#"
import sys, threading
from kubernetes import client, config, watch
config.load_kube_config(sys.argv[1])
v1 = client.CoreV1Api()
apps = client.AppsV1Api()
cm = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="py", labels={"app": "py"}), data={"a": "1"})
v1.create_namespaced_config_map("default", cm)
got = v1.read_namespaced_config_map("py", "default")
assert got.data == {"a": "1"}, got.data
lst = v1.list_namespaced_config_map("default", label_selector="app=py")
assert [i.metadata.name for i in lst.items] == ["py"]
rv = lst.metadata.resource_version
got.data["b"] = "2"
v1.replace_namespaced_config_map("py", "default", got)
v1.patch_namespaced_config_map("py", "default", {"data": {"c": "3"}})
w = watch.Watch()
seen = []
for ev in w.stream(v1.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=5):
    seen.append((ev["type"], ev["object"].metadata.name, dict(ev["object"].data or {})))
    if len(seen) == 2:
        w.stop()
assert seen[0][0] == "MODIFIED" and seen[1][2] == {"a": "1", "b": "2", "c": "3"}, seen
v1.delete_namespaced_config_map("py", "default")
try:
    v1.read_namespaced_config_map("py", "default")
    raise SystemExit("still there")
except client.exceptions.ApiException as e:
    assert e.status == 404, e.status
dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
       "spec": {"replicas": 1, "selector": {"matchLabels": {"a": "b"}},
                "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}
apps.create_namespaced_deployment("default", dep)
sc = apps.read_namespaced_deployment_scale("d", "default")
assert sc.spec.replicas == 1
apps.patch_namespaced_deployment_scale("d", "default", {"spec": {"replicas": 3}})
assert apps.read_namespaced_deployment("d", "default").spec.replicas == 3
print("python ok")
"#;
    let kc = t.kubeconfig.clone();
    let out = tokio::process::Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(script)
        .arg(&kc)
        .output()
        .await
        .expect("python");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("python ok"));
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_crud_watch_and_errors() {
    use futures::StreamExt;
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{
        Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
    };
    let t = common::start_server().await;
    let kc = kube::config::Kubeconfig::read_from(&t.kubeconfig).expect("kubeconfig");
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .expect("config");
    let client = kube::Client::try_from(cfg).expect("client");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pod: Pod = serde_json::from_value(serde_json::json!({
        "metadata": {"generateName": "k-", "labels": {"x": "1"}},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}
    }))
    .expect("pod");
    let created = pods
        .create(&PostParams::default(), &pod)
        .await
        .expect("create");
    let name = created.metadata.name.clone().expect("name");
    assert!(name.starts_with("k-") && name.len() == 7, "{name}");
    let list = pods
        .list(&ListParams::default().labels("x=1"))
        .await
        .expect("list");
    assert_eq!(list.items.len(), 1);
    let rv = list.metadata.resource_version.clone().expect("rv");
    let mut stream = pods
        .watch(&WatchParams::default().timeout(10), &rv)
        .await
        .expect("watch")
        .boxed();
    pods.patch(
        &name,
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"metadata": {"labels": {"y": "2"}}})),
    )
    .await
    .expect("patch");
    let ev = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("event")
        .expect("some")
        .expect("ok");
    match ev {
        WatchEvent::Modified(p) => assert_eq!(
            p.metadata
                .labels
                .expect("labels")
                .get("y")
                .map(String::as_str),
            Some("2")
        ),
        other => panic!("unexpected {other:?}"),
    }
    let mut p = pods.get(&name).await.expect("get");
    p.metadata.resource_version = Some("1".into());
    let err = pods
        .replace(&name, &PostParams::default(), &p)
        .await
        .expect_err("conflict");
    match err {
        kube::Error::Api(s) => assert_eq!(s.code, 409),
        other => panic!("{other:?}"),
    }
    pods.delete(&name, &DeleteParams::default())
        .await
        .expect("delete");
    let err = pods.get(&name).await.expect_err("gone");
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 404);
            assert_eq!(s.message, format!("pods \"{name}\" not found"));
        }
        other => panic!("{other:?}"),
    }
    t.server.shutdown().await;
}
