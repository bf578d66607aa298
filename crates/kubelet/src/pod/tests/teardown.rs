//! Deletion, adoption after an agent restart, and a sandbox that died.

use super::*;

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

#[tokio::test]
async fn a_dead_sandbox_is_replaced_and_initialisation_starts_over() {
    let mut e = env(&["busybox:1.36"]);
    let p = pod(serde_json::json!({
        "initContainers": [{"name": "init", "image": "busybox:1.36"}],
        "containers": [{"name": "app", "image": "busybox:1.36"}],
    }));
    e.worker.sync(&p).await;
    e.cri.exit("init", 0);
    e.worker.sync(&p).await;
    assert_eq!(state_reason(&last_status(&e), "app").0, "running");
    let before = e.cri.calls().len();
    // the sandbox dies under the running app container
    for sb in e.cri.lock().sandboxes.values_mut() {
        sb.1 = k8s_cri::v1::PodSandboxState::SandboxNotready as i32;
    }
    e.worker.sync(&p).await;
    assert_eq!(
        e.cri.calls()[before..],
        [
            "StopContainer app 30",
            "StopPodSandbox sb1",
            "RemoveContainer c2",
            "RunPodSandbox web",
            "CreateContainer init",
            "StartContainer init",
        ]
    );
    let lines = e.events.lines();
    assert!(
        lines.contains(
            &"SandboxChanged: Pod sandbox changed, it will be killed and re-created.".to_string()
        ),
        "{lines:?}"
    );
    assert!(lines.contains(&"Killing: Stopping container app".to_string()));
    let s = last_status(&e);
    assert_eq!(s.phase.as_deref(), Some("Pending"));
    let init = s.init_container_statuses.unwrap_or_default();
    assert_eq!(init[0].restart_count, 1);
}
