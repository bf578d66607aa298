//! Worker-level tests against the fake CRI and a fake API: the fakes and
//! helpers here, sync passes in `sync`, deletion and replacement in
//! `teardown`.

mod sync;
mod teardown;

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
use skiff_client::events::fake::FakeEvents;

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
        register_with_taints: Vec::new(),
        node_external_ip: None,
        cgroup_root: "/".into(),
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
            register_with_taints: Vec::new(),
            node_external_ip: None,
            cgroup_root: "/".into(),
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
