//! Cascading deletion with the real kubectl (background, foreground, orphan) and namespace
//! deletion: what is left must be exactly what upstream leaves.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, ListParams};

use crate::sim::{cluster, live, ready, wait_for, Cluster};

fn manifest(name: &str, ns: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {ns}
spec:
  replicas: 3
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: c
        image: nginx
"
    )
}

async fn deploy(c: &Cluster, name: &str, ns: &str) {
    c.ok_in(&["apply", "-f", "-"], Some(&manifest(name, ns)))
        .await;
    c.ok(&[
        "rollout",
        "status",
        &format!("deployment/{name}"),
        "-n",
        ns,
        "--timeout=60s",
    ])
    .await;
    wait_for(30, "3 ready pods", || async {
        let n = c
            .pods(ns)
            .await
            .iter()
            .filter(|p| {
                live(p)
                    && ready(p)
                    && p.metadata
                        .name
                        .as_deref()
                        .is_some_and(|x| x.starts_with(name))
            })
            .count();
        (n == 3).then_some(()).ok_or(format!("{n} ready"))
    })
    .await;
}

async fn rs_of(c: &Cluster, ns: &str, app: &str) -> Vec<ReplicaSet> {
    let api: Api<ReplicaSet> = Api::namespaced(c.client.clone(), ns);
    api.list(&ListParams::default().labels(&format!("app={app}")))
        .await
        .expect("rs")
        .items
}

async fn pods_of(c: &Cluster, ns: &str, app: &str) -> usize {
    c.pods(ns)
        .await
        .iter()
        .filter(|p| {
            p.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("app"))
                .map(String::as_str)
                == Some(app)
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cascading_deletes_background_foreground_orphan() {
    let c = cluster().await;
    for n in ["node1", "node2"] {
        c.add_node(n, "4", "110").await;
    }
    for name in ["bg", "fg", "orph"] {
        deploy(&c, name, "default").await;
    }

    // Foreground: kubectl waits for the deployment to go, which happens only after its
    // ReplicaSet and pods are gone.
    c.ok(&[
        "delete",
        "deployment",
        "fg",
        "--cascade=foreground",
        "--timeout=60s",
    ])
    .await;
    assert!(
        rs_of(&c, "default", "fg").await.is_empty(),
        "foreground left a ReplicaSet"
    );
    assert_eq!(
        pods_of(&c, "default", "fg").await,
        0,
        "foreground left pods"
    );

    // Background: the deployment goes at once; the collector removes the rest.
    c.ok(&["delete", "deployment", "bg"]).await;
    wait_for(60, "background cascade", || async {
        let (r, p) = (
            rs_of(&c, "default", "bg").await.len(),
            pods_of(&c, "default", "bg").await,
        );
        (r == 0 && p == 0)
            .then_some(())
            .ok_or(format!("rs={r} pods={p}"))
    })
    .await;

    // Orphan: the ReplicaSet stays without its owner reference; its pods stay, still its own.
    c.ok(&["delete", "deployment", "orph", "--cascade=orphan"])
        .await;
    let deps: Api<Deployment> = Api::namespaced(c.client.clone(), "default");
    wait_for(30, "orphaned ReplicaSet", || async {
        let gone = deps
            .get_opt("orph")
            .await
            .map_err(|e| e.to_string())?
            .is_none();
        let rss = rs_of(&c, "default", "orph").await;
        let freed = rss.len() == 1
            && rss[0]
                .metadata
                .owner_references
                .as_ref()
                .is_none_or(|o| o.is_empty());
        (gone && freed)
            .then_some(())
            .ok_or(format!("gone={gone} rs={}", rss.len()))
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let rss = rs_of(&c, "default", "orph").await;
    let uid = rss[0].metadata.uid.clone();
    let pods: Vec<_> = c.pods("default").await.into_iter().filter(live).collect();
    assert_eq!(pods.len(), 3, "orphan left exactly the ReplicaSet's pods");
    for p in &pods {
        let owner = p
            .metadata
            .owner_references
            .as_ref()
            .and_then(|o| o.first())
            .map(|o| o.uid.clone());
        assert_eq!(owner, uid, "pods keep their ReplicaSet owner");
    }
    // Deleting the now ownerless ReplicaSet takes its pods.
    let rs_name = rss[0].metadata.name.clone().unwrap_or_default();
    c.ok(&["delete", "rs", &rs_name]).await;
    wait_for(60, "nothing left", || async {
        let p = c.pods("default").await.len();
        let r = rs_of(&c, "default", "orph").await.len();
        (p == 0 && r == 0)
            .then_some(())
            .ok_or(format!("pods={p} rs={r}"))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_namespace_deletes_everything_in_it() {
    let c = cluster().await;
    c.add_node("node1", "4", "110").await;
    // kubectl >= 1.31 sends protobuf for `create`: use manifests.
    c.ok_in(
        &["apply", "-f", "-"],
        Some("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n"),
    )
    .await;
    deploy(&c, "app", "team").await;
    c.ok_in(
        &["apply", "-f", "-"],
        Some("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: team\ndata:\n  a: b\n"),
    )
    .await;
    c.ok(&["delete", "namespace", "team", "--timeout=90s"])
        .await;
    let nss: Api<Namespace> = Api::all(c.client.clone());
    assert!(
        nss.get_opt("team").await.expect("get ns").is_none(),
        "namespace still there"
    );
    assert_eq!(c.pods("team").await.len(), 0);
    let cms: Api<ConfigMap> = Api::namespaced(c.client.clone(), "team");
    assert!(cms
        .list(&ListParams::default())
        .await
        .expect("cms")
        .items
        .is_empty());
    assert!(rs_of(&c, "team", "app").await.is_empty());
    // Other namespaces are untouched.
    assert!(nss.get_opt("default").await.expect("get ns").is_some());
}
