//! Sync passes against the fake CRI: sandbox, init and app containers in
//! order, restarts with back-off, restart policies, image pulls, config
//! errors and volume failures.

use super::*;

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
