//! Worker-level tests against the fake CRI and a fake API: sync decisions,
//! restarts with back-off, status, image pulls, env and termination.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, PodStatus, Secret, Service};
use tokio::sync::mpsc;

use super::worker::Worker;
use super::Shared;
use crate::api::{ApiError, PodApi};
use crate::config::KubeletConfig;
use crate::cri::fake::FakeCri;
use crate::cri::labels;
use crate::events::fake::FakeEvents;

#[derive(Default)]
struct FakeApi {
    config_maps: Mutex<BTreeMap<String, ConfigMap>>,
    statuses: Mutex<Vec<PodStatus>>,
    deleted: Mutex<Vec<String>>,
}

#[async_trait]
impl PodApi for FakeApi {
    async fn config_map(&self, _ns: &str, name: &str) -> Result<Option<ConfigMap>, ApiError> {
        Ok(self
            .config_maps
            .lock()
            .ok()
            .and_then(|m| m.get(name).cloned()))
    }
    async fn secret(&self, _ns: &str, _name: &str) -> Result<Option<Secret>, ApiError> {
        Ok(None)
    }
    async fn services(&self, _ns: &str) -> Result<Vec<Service>, ApiError> {
        Ok(vec![])
    }
    async fn token(
        &self,
        _p: &Pod,
        _sa: &str,
        _a: Option<String>,
        _e: i64,
    ) -> Result<Option<String>, ApiError> {
        Ok(Some("tok".into()))
    }
    async fn patch_status(
        &self,
        _ns: &str,
        _name: &str,
        status: &PodStatus,
    ) -> Result<(), ApiError> {
        if let Ok(mut v) = self.statuses.lock() {
            v.push(status.clone());
        }
        Ok(())
    }
    async fn delete_pod(&self, ns: &str, name: &str, uid: &str) -> Result<(), ApiError> {
        if let Ok(mut v) = self.deleted.lock() {
            v.push(format!("{ns}/{name}/{uid}"));
        }
        Ok(())
    }
}

struct Env {
    cri: Arc<FakeCri>,
    api: Arc<FakeApi>,
    events: Arc<FakeEvents>,
    worker: Worker,
    _dir: tempfile::TempDir,
}

fn env(images: &[&str]) -> Env {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cfg = KubeletConfig {
        node_name: "n1".into(),
        node_ip: "192.168.1.10".parse().unwrap_or_else(|e| panic!("{e}")),
        root_dir: dir.path().to_path_buf(),
        cri_endpoint: "unix:///nonexistent".into(),
        port: 10250,
        serving_cert_pem: String::new(),
        serving_key_pem: String::new(),
        client_ca_pem: String::new(),
        cluster_cidr: "10.42.0.0/16".into(),
        pod_cidr: None,
        kubernetes_service_host: "10.43.0.1".into(),
        kubernetes_service_port: 443,
        cluster_dns: vec!["10.43.0.10".into()],
        cluster_domain: "cluster.local".into(),
        node_labels: BTreeMap::new(),
        heartbeat: Duration::from_secs(10),
        sync_period: Duration::from_secs(10),
    };
    let cri = Arc::new(FakeCri::with_images(images));
    let api = Arc::new(FakeApi::default());
    let events = Arc::new(FakeEvents::default());
    let shared = Arc::new(Shared {
        cfg: Arc::new(cfg),
        cri: cri.clone(),
        api: api.clone(),
        events: events.clone(),
        backoff: Default::default(),
        image_backoff: Default::default(),
        probes: Default::default(),
        node_memory: 8 << 30,
        node_cpu_milli: 2000,
        host_ip: "192.168.1.10".into(),
        relist: Default::default(),
    });
    let (tx, _rx) = mpsc::channel(4);
    Env {
        worker: Worker::new(shared, tx),
        cri,
        api,
        events,
        _dir: dir,
    }
}

fn pod(spec: serde_json::Value) -> Arc<Pod> {
    let p: Pod = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "web", "namespace": "default", "uid": "uid-1"},
        "spec": spec,
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    Arc::new(p)
}

fn last_status(e: &Env) -> PodStatus {
    e.api
        .statuses
        .lock()
        .ok()
        .and_then(|v| v.last().cloned())
        .unwrap_or_default()
}

fn state_reason(s: &PodStatus, name: &str) -> (String, String) {
    let cs = s
        .container_statuses
        .iter()
        .flatten()
        .chain(s.init_container_statuses.iter().flatten())
        .find(|c| c.name == name)
        .cloned()
        .unwrap_or_default();
    let st = cs.state.unwrap_or_default();
    if let Some(w) = st.waiting {
        ("waiting".into(), w.reason.unwrap_or_default())
    } else if let Some(t) = st.terminated {
        ("terminated".into(), t.reason.unwrap_or_default())
    } else if st.running.is_some() {
        ("running".into(), String::new())
    } else {
        ("none".into(), String::new())
    }
}

#[tokio::test]
async fn starts_sandbox_then_init_then_containers_and_reports_running() {
    let mut e = env(&["busybox:1.36"]);
    let p = pod(serde_json::json!({
        "initContainers": [{"name": "init", "image": "busybox:1.36", "command": ["true"]}],
        "containers": [{"name": "app", "image": "busybox:1.36",
            "command": ["sh", "-c", "echo $(GREETING) $(MISSING)"],
            "env": [{"name": "GREETING", "value": "hi-$(POD)"}, {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]}],
    }));
    e.worker.sync(&p).await;
    assert_eq!(
        e.cri.calls(),
        vec![
            "RunPodSandbox web",
            "CreateContainer init",
            "StartContainer init"
        ]
    );
    let s = last_status(&e);
    assert_eq!(s.phase.as_deref(), Some("Pending"));
    assert_eq!(
        state_reason(&s, "app"),
        ("waiting".into(), "PodInitializing".into())
    );
    let init_cond = s
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Initialized")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        init_cond.reason.as_deref(),
        Some("ContainersNotInitialized")
    );
    assert_eq!(
        init_cond.message.as_deref(),
        Some("containers with incomplete status: [init]")
    );

    e.cri.exit("init", 0);
    e.worker.sync(&p).await;
    let calls = e.cri.calls();
    assert_eq!(&calls[3..], &["CreateContainer app", "StartContainer app"]);
    let s = last_status(&e);
    assert_eq!(s.phase.as_deref(), Some("Running"));
    assert_eq!(s.pod_ip.as_deref(), Some("10.42.0.7"));
    assert_eq!(s.host_ip.as_deref(), Some("192.168.1.10"));
    assert_eq!(s.qos_class.as_deref(), Some("BestEffort"));
    assert_eq!(state_reason(&s, "app").0, "running");
    assert_eq!(
        state_reason(&s, "init"),
        ("terminated".into(), "Completed".into())
    );
    let ready = s
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Ready")
        .cloned()
        .unwrap_or_default();
    assert_eq!(ready.status, "True");

    // the container got the expanded env and command, and kubelet labels
    let st = e.cri.lock();
    let app = st
        .containers
        .values()
        .find(|c| {
            c.status
                .labels
                .get(labels::CONTAINER_NAME)
                .map(String::as_str)
                == Some("app")
        })
        .cloned()
        .unwrap_or_else(|| panic!("no app container"));
    assert_eq!(
        app.status.labels.get(labels::POD_UID).map(String::as_str),
        Some("uid-1")
    );
    assert_eq!(
        app.status
            .annotations
            .get(labels::RESTART_COUNT)
            .map(String::as_str),
        Some("0")
    );
    drop(st);
    let lines = e.events.lines();
    assert!(
        lines.contains(
            &"Pulled: Container image \"busybox:1.36\" already present on machine".to_string()
        ),
        "{lines:?}"
    );
    assert!(lines.contains(&"Created: Created container: app".to_string()));
    assert!(lines.contains(&"Started: Started container app".to_string()));
}

#[tokio::test]
async fn crash_loop_back_off_and_restart_count() {
    let mut e = env(&["busybox:1.36"]);
    let p = pod(serde_json::json!({"containers": [{"name": "app", "image": "busybox:1.36"}]}));
    e.worker.sync(&p).await;
    e.cri.exit("app", 1);
    // first failure restarts at once
    e.worker.sync(&p).await;
    let starts = e
        .cri
        .calls()
        .iter()
        .filter(|c| *c == "StartContainer app")
        .count();
    assert_eq!(starts, 2);
    let s = last_status(&e);
    let cs = s.container_statuses.clone().unwrap_or_default();
    assert_eq!(cs[0].restart_count, 1);
    assert!(cs[0]
        .last_state
        .as_ref()
        .and_then(|l| l.terminated.as_ref())
        .is_some());
    // second failure right away: held back 10 s
    e.cri.exit("app", 1);
    e.worker.sync(&p).await;
    let starts = e
        .cri
        .calls()
        .iter()
        .filter(|c| *c == "StartContainer app")
        .count();
    assert_eq!(starts, 2);
    let s = last_status(&e);
    let w = s.container_statuses.clone().unwrap_or_default()[0]
        .state
        .clone()
        .and_then(|s| s.waiting)
        .unwrap_or_default();
    assert_eq!(w.reason.as_deref(), Some("CrashLoopBackOff"));
    assert_eq!(
        w.message.as_deref(),
        Some("back-off 10s restarting failed container=app pod=web_default(uid-1)")
    );
    assert!(e.events.lines().iter().any(
        |l| l == "BackOff: Back-off restarting failed container app in pod web_default(uid-1)"
    ));
    assert_eq!(s.phase.as_deref(), Some("Running"));
}

#[tokio::test]
async fn never_policy_fails_and_on_failure_succeeds() {
    let mut e = env(&["busybox:1.36"]);
    let p = pod(
        serde_json::json!({"restartPolicy": "Never", "containers": [{"name": "job", "image": "busybox:1.36"}]}),
    );
    e.worker.sync(&p).await;
    e.cri.exit("job", 3);
    e.worker.sync(&p).await;
    let s = last_status(&e);
    assert_eq!(s.phase.as_deref(), Some("Failed"));
    assert_eq!(
        state_reason(&s, "job"),
        ("terminated".into(), "Error".into())
    );
    assert!(e
        .cri
        .calls()
        .iter()
        .any(|c| c.starts_with("StopPodSandbox")));
    let ready = s
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Ready")
        .cloned()
        .unwrap_or_default();
    assert_eq!(ready.reason.as_deref(), Some("PodCompleted"));

    let mut e = env(&["busybox:1.36"]);
    let p = pod(
        serde_json::json!({"restartPolicy": "OnFailure", "containers": [{"name": "job", "image": "busybox:1.36"}]}),
    );
    e.worker.sync(&p).await;
    e.cri.exit("job", 0);
    e.worker.sync(&p).await;
    assert_eq!(last_status(&e).phase.as_deref(), Some("Succeeded"));
    assert_eq!(
        e.cri
            .calls()
            .iter()
            .filter(|c| *c == "StartContainer job")
            .count(),
        1
    );
}

#[tokio::test]
async fn image_pull_events_and_back_off() {
    let mut e = env(&[]);
    e.cri.lock().fail_pull = true;
    let p = pod(
        serde_json::json!({"containers": [{"name": "app", "image": "nope:1", "imagePullPolicy": "IfNotPresent"}]}),
    );
    e.worker.sync(&p).await;
    assert_eq!(
        state_reason(&last_status(&e), "app"),
        ("waiting".into(), "ErrImagePull".into())
    );
    e.worker.sync(&p).await;
    assert_eq!(
        state_reason(&last_status(&e), "app"),
        ("waiting".into(), "ImagePullBackOff".into())
    );
    let lines = e.events.lines();
    assert!(
        lines.contains(&"Pulling: Pulling image \"nope:1\"".to_string()),
        "{lines:?}"
    );
    assert!(lines.contains(&"Failed: Error: ErrImagePull".to_string()));
    assert!(lines.contains(&"BackOff: Back-off pulling image \"nope:1\"".to_string()));
    // a successful pull reports its size
    let mut e = env(&[]);
    let p = pod(serde_json::json!({"containers": [{"name": "app", "image": "busybox"}]}));
    e.worker.sync(&p).await;
    let pulled = e
        .events
        .lines()
        .into_iter()
        .find(|l| l.starts_with("Pulled:"))
        .unwrap_or_default();
    assert!(
        pulled.starts_with("Pulled: Successfully pulled image \"busybox\" in "),
        "{pulled}"
    );
    assert!(pulled.ends_with("Image size: 1234 bytes."), "{pulled}");
}

#[tokio::test]
async fn missing_config_map_is_a_config_error_and_volume_failure() {
    let mut e = env(&["busybox:1.36"]);
    let p = pod(
        serde_json::json!({"containers": [{"name": "app", "image": "busybox:1.36",
        "env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "k"}}}]}]}),
    );
    e.worker.sync(&p).await;
    let s = last_status(&e);
    let w = s.container_statuses.clone().unwrap_or_default()[0]
        .state
        .clone()
        .and_then(|s| s.waiting)
        .unwrap_or_default();
    assert_eq!(w.reason.as_deref(), Some("CreateContainerConfigError"));
    assert_eq!(w.message.as_deref(), Some("configmap \"cfg\" not found"));

    let mut e = env(&["busybox:1.36"]);
    let p = pod(
        serde_json::json!({"volumes": [{"name": "v", "configMap": {"name": "cfg"}}],
        "containers": [{"name": "app", "image": "busybox:1.36", "volumeMounts": [{"name": "v", "mountPath": "/cfg"}]}]}),
    );
    e.worker.sync(&p).await;
    assert!(e.events.lines().iter().any(|l| l
        == "FailedMount: MountVolume.SetUp failed for volume \"v\" : configmap \"cfg\" not found"));
    e.api
        .config_maps
        .lock()
        .map(|mut m| {
            m.insert(
                "cfg".into(),
                serde_json::from_value(
                    serde_json::json!({"metadata": {"name": "cfg"}, "data": {"a.txt": "hello"}}),
                )
                .unwrap_or_default(),
            )
        })
        .ok();
    e.worker.sync(&p).await;
    assert_eq!(state_reason(&last_status(&e), "app").0, "running");
    let file = e
        ._dir
        .path()
        .join("pods/uid-1/volumes/kubernetes.io~configmap/v/a.txt");
    assert_eq!(std::fs::read_to_string(file).unwrap_or_default(), "hello");
}

#[tokio::test]
async fn deletion_stops_with_grace_and_deletes_the_object() {
    let mut e = env(&["busybox:1.36"]);
    let p = pod(serde_json::json!({"terminationGracePeriodSeconds": 7,
        "containers": [{"name": "app", "image": "busybox:1.36"}]}));
    e.worker.sync(&p).await;
    let mut deleting = (*p).clone();
    deleting.metadata.deletion_timestamp = Some(crate::time::time(chrono::Utc::now()));
    deleting.metadata.deletion_grace_period_seconds = Some(5);
    let done = e.worker.sync(&Arc::new(deleting)).await;
    assert!(done);
    let calls = e.cri.calls();
    assert!(
        calls.contains(&"StopContainer app 5".to_string()),
        "{calls:?}"
    );
    assert!(calls.iter().any(|c| c.starts_with("RemovePodSandbox")));
    assert!(e
        .events
        .lines()
        .contains(&"Killing: Stopping container app".to_string()));
    assert_eq!(
        e.api.deleted.lock().map(|v| v.clone()).unwrap_or_default(),
        vec!["default/web/uid-1"]
    );
}

#[tokio::test]
async fn adopts_running_containers_after_restart() {
    let mut e = env(&["busybox:1.36"]);
    let p = pod(serde_json::json!({"containers": [{"name": "app", "image": "busybox:1.36"}]}));
    e.worker.sync(&p).await;
    e.cri.exit("app", 1);
    e.worker.sync(&p).await;
    let before = e.cri.calls().len();
    // a new worker (agent restart) sees a healthy container and leaves it
    let (tx, _rx) = mpsc::channel(4);
    let shared = Arc::new(Shared {
        cfg: e.worker_cfg(),
        cri: e.cri.clone(),
        api: e.api.clone(),
        events: e.events.clone(),
        backoff: Default::default(),
        image_backoff: Default::default(),
        probes: Default::default(),
        node_memory: 8 << 30,
        node_cpu_milli: 2000,
        host_ip: "192.168.1.10".into(),
        relist: Default::default(),
    });
    let mut fresh = Worker::new(shared, tx);
    fresh.sync(&p).await;
    assert_eq!(e.cri.calls().len(), before, "{:?}", e.cri.calls());
    let cs = last_status(&e).container_statuses.unwrap_or_default();
    assert_eq!(cs[0].restart_count, 1);
}

impl Env {
    fn worker_cfg(&self) -> Arc<KubeletConfig> {
        Arc::new(KubeletConfig {
            node_name: "n1".into(),
            node_ip: "192.168.1.10".parse().unwrap_or_else(|e| panic!("{e}")),
            root_dir: self._dir.path().to_path_buf(),
            cri_endpoint: String::new(),
            port: 10250,
            serving_cert_pem: String::new(),
            serving_key_pem: String::new(),
            client_ca_pem: String::new(),
            cluster_cidr: "10.42.0.0/16".into(),
            pod_cidr: None,
            kubernetes_service_host: "10.43.0.1".into(),
            kubernetes_service_port: 443,
            cluster_dns: vec![],
            cluster_domain: "cluster.local".into(),
            node_labels: BTreeMap::new(),
            heartbeat: Duration::from_secs(10),
            sync_period: Duration::from_secs(10),
        })
    }
}

#[test]
fn status_only_changes_do_not_wake_the_worker() {
    let base = pod(serde_json::json!({"containers": [{"name": "c", "image": "busybox"}]}));
    let mut status_only = (*base).clone();
    status_only.metadata.resource_version = Some("99".into());
    status_only.status = Some(PodStatus {
        phase: Some("Pending".into()),
        message: Some("creating container 1234: failed".into()),
        ..Default::default()
    });
    assert!(super::same_except_status(&base, &status_only));

    let mut deleted = status_only.clone();
    deleted.metadata.deletion_timestamp = Some(
        k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(k8s_openapi::jiff::Timestamp::now()),
    );
    assert!(!super::same_except_status(&base, &deleted));

    let mut new_image = (*base).clone();
    if let Some(spec) = new_image.spec.as_mut() {
        spec.containers[0].image = Some("busybox:2".into());
    }
    assert!(!super::same_except_status(&base, &new_image));
}
