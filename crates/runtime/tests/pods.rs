//! Pod networking and sharing: two containers of one pod over localhost and a
//! shared emptyDir, a pod reaching another pod's IP, and recovery after a runtime restart.
#![allow(clippy::unwrap_used, missing_docs)] // test code: a failed unwrap is a failed test

mod common;

use std::time::Duration;

use common::Harness;
use k8s_cri::v1::*;

fn with_mount(mut c: ContainerConfig, host: &std::path::Path, path: &str) -> ContainerConfig {
    c.mounts.push(Mount {
        container_path: path.into(),
        host_path: host.display().to_string(),
        ..Default::default()
    });
    c
}

async fn wget_until(h: &mut Harness, id: &str, url: &str) -> String {
    let mut last = String::new();
    for _ in 0..50 {
        let r = h.exec(id, &["wget", "-q", "-O", "-", url]).await;
        if r.exit_code == 0 {
            return String::from_utf8_lossy(&r.stdout).into_owned();
        }
        last = format!("{} {}", r.exit_code, String::from_utf8_lossy(&r.stderr));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let list =
        h.rt.list_containers(ListContainersRequest { filter: None })
            .await
            .unwrap()
            .into_inner();
    for c in list.containers {
        let s = h.status(&c.id).await;
        let log = std::fs::read_to_string(&s.log_path).unwrap_or_default();
        eprintln!(
            "container {:?} state {} exit {} log:\n{log}",
            s.metadata, s.state, s.exit_code
        );
    }
    panic!("{url} never answered: {last}");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_containers_share_localhost_and_empty_dir() {
    let mut h = Harness::start(21).await;
    let pod = h.run_pod("shared").await;
    let empty_dir = h.root.join("emptydir");
    std::fs::create_dir_all(&empty_dir).unwrap();
    let web = with_mount(
        h.container_config(
            "web",
            &[
                "sh",
                "-c",
                "echo hello-from-web > /data/index.html; exec httpd -f -p 8080 -h /data",
            ],
        ),
        &empty_dir,
        "/data",
    );
    let client = with_mount(
        h.container_config("client", &["sleep", "1000"]),
        &empty_dir,
        "/shared",
    );
    h.run(&pod, web).await;
    let cid = h.run(&pod, client).await;
    assert_eq!(
        wget_until(&mut h, &cid, "http://127.0.0.1:8080/index.html").await,
        "hello-from-web\n"
    );
    let r = h.exec(&cid, &["cat", "/shared/index.html"]).await;
    assert_eq!(r.stdout, b"hello-from-web\n");
    // Both containers see the pod hostname and the same IPC namespace.
    let r = h.exec(&cid, &["hostname"]).await;
    assert_eq!(r.stdout, b"shared\n");
    let r = h.exec(&cid, &["cat", "/etc/hosts"]).await;
    let ip = h.pod_ip(&pod.0).await;
    assert!(String::from_utf8_lossy(&r.stdout).contains(&format!("{ip}\tshared")));
    h.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pod_reaches_another_pods_ip() {
    let mut h = Harness::start(22).await;
    let server = h.run_pod("server").await;
    let client = h.run_pod("client").await;
    let ip = h.pod_ip(&server.0).await;
    assert!(ip.starts_with("10.200.22."), "{ip}");
    let c = h.container_config(
        "web",
        &[
            "sh",
            "-c",
            "mkdir -p /www; echo pong > /www/ping; exec httpd -f -p 80 -h /www",
        ],
    );
    h.run(&server, c).await;
    let c = h.container_config("curl", &["sleep", "1000"]);
    let cid = h.run(&client, c).await;
    assert_eq!(
        wget_until(&mut h, &cid, &format!("http://{ip}/ping")).await,
        "pong\n"
    );

    let list =
        h.rt.list_pod_sandbox(ListPodSandboxRequest {
            filter: Some(PodSandboxFilter {
                label_selector: [("app".to_string(), "client".to_string())].into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.items.len(), 1);
    assert_eq!(list.items[0].id, client.0);

    h.rt.stop_pod_sandbox(StopPodSandboxRequest {
        pod_sandbox_id: server.0.clone(),
    })
    .await
    .unwrap();
    let st =
        h.rt.pod_sandbox_status(PodSandboxStatusRequest {
            pod_sandbox_id: server.0.clone(),
            verbose: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        st.status.unwrap().state,
        PodSandboxState::SandboxNotready as i32
    );
    assert!(st
        .containers_statuses
        .iter()
        .all(|c| c.state == ContainerState::ContainerExited as i32));
    h.rt.remove_pod_sandbox(RemovePodSandboxRequest {
        pod_sandbox_id: server.0.clone(),
    })
    .await
    .unwrap();
    h.rt.remove_pod_sandbox(RemovePodSandboxRequest {
        pod_sandbox_id: server.0,
    })
    .await
    .unwrap();
    h.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn containers_survive_runtime_restart() {
    let mut h = Harness::start(23).await;
    let pod = h.run_pod("survivor").await;
    let c = h.container_config(
        "main",
        &["sh", "-c", "while true; do echo tick; sleep 0.2; done"],
    );
    let id = h.run(&pod, c).await;
    let before = h.status(&id).await;
    assert_eq!(before.state, ContainerState::ContainerRunning as i32);

    h.stop_server().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    h.start_server().await;

    let after = h.status(&id).await;
    assert_eq!(after.state, ContainerState::ContainerRunning as i32);
    assert_eq!(after.started_at, before.started_at);
    let r = h.exec(&id, &["hostname"]).await;
    assert_eq!(r.stdout, b"survivor\n");
    let sb =
        h.rt.pod_sandbox_status(PodSandboxStatusRequest {
            pod_sandbox_id: pod.0.clone(),
            verbose: false,
        })
        .await
        .unwrap()
        .into_inner()
        .status
        .unwrap();
    assert_eq!(sb.state, PodSandboxState::SandboxReady as i32);
    h.rt.stop_container(StopContainerRequest {
        container_id: id.clone(),
        timeout: 2,
    })
    .await
    .unwrap();
    let s = h.status(&id).await;
    assert_eq!(s.state, ContainerState::ContainerExited as i32);
    let log = std::fs::read_to_string(&s.log_path).unwrap();
    assert!(log.lines().count() >= 3 && log.lines().all(|l| l.ends_with(" stdout F tick")));
    h.cleanup().await;
}

/// The kubelet hands in `/kubepods/<qos>/pod<uid>` as the cgroup parent; the OCI runtime
/// creates it implicitly, so RemovePodSandbox must remove it again (no leak per pod).
#[tokio::test(flavor = "multi_thread")]
async fn remove_pod_sandbox_removes_the_pod_cgroup() {
    let mut h = Harness::start(24).await;
    let parent = format!(
        "/kubepods/besteffort/podskifftest-{}-{}",
        std::process::id(),
        h.net
    );
    let mut cfg = h.pod_config("cg");
    if let Some(linux) = cfg.linux.as_mut() {
        linux.cgroup_parent = parent.clone();
    }
    let pod = h.run_pod_with(cfg).await;
    let id = pod.0.clone();
    let c = h.container_config("sleeper", &["sleep", "1000"]);
    h.run(&pod, c).await;
    let memory_dir = std::path::Path::new("/sys/fs/cgroup/memory").join(&parent[1..]);
    assert!(memory_dir.is_dir(), "{} not created", memory_dir.display());

    h.rt.stop_pod_sandbox(StopPodSandboxRequest {
        pod_sandbox_id: id.clone(),
    })
    .await
    .unwrap();
    h.rt.remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: id })
        .await
        .unwrap();
    for hierarchy in ["memory", "pids", "cpu,cpuacct"] {
        let dir = std::path::Path::new("/sys/fs/cgroup")
            .join(hierarchy)
            .join(&parent[1..]);
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
    h.cleanup().await;
}

/// A node restarted with another `--oci-runtime` keeps managing what the previous one
/// created: each container is handled by the runtime whose state it has.
#[cfg(feature = "youki")]
#[tokio::test(flavor = "multi_thread")]
async fn switching_oci_runtime_keeps_managing_existing_containers() {
    use skiff_runtime::OciRuntimeKind;
    let mut h = Harness::start_with(25, OciRuntimeKind::Runc).await;
    let pod = h.run_pod("switch").await;
    let by_runc = h
        .run(&pod, h.container_config("a", &["sleep", "1000"]))
        .await;

    h.stop_server().await;
    h.oci = OciRuntimeKind::Youki;
    h.start_server().await;
    let by_youki = h
        .run(&pod, h.container_config("b", &["sleep", "1000"]))
        .await;
    let oci_root = h.root.join("runtime/oci");
    let state = std::fs::read_to_string(oci_root.join(&by_youki).join("state.json")).unwrap();
    assert!(state.contains("\"status\""), "not youki state: {state}");

    h.stop_server().await;
    h.oci = OciRuntimeKind::Runc;
    h.start_server().await;
    for id in [&by_runc, &by_youki] {
        let r = h.exec(id, &["hostname"]).await;
        assert_eq!(r.stdout, b"switch\n", "exec into {id}");
        h.rt.stop_container(StopContainerRequest {
            container_id: id.to_string(),
            timeout: 2,
        })
        .await
        .unwrap();
        assert_eq!(
            h.status(id).await.state,
            ContainerState::ContainerExited as i32
        );
        h.rt.remove_container(RemoveContainerRequest {
            container_id: id.to_string(),
        })
        .await
        .unwrap();
        assert!(!oci_root.join(id).exists(), "state of {id} left behind");
    }
    h.cleanup().await;
}

/// The environment keeps the order the config lists it in, for the container's own
/// process and for execs (as with runc; libcontainer sets it in hash order otherwise).
#[tokio::test(flavor = "multi_thread")]
async fn environment_keeps_the_configured_order() {
    let mut h = Harness::start(26).await;
    let pod = h.run_pod("envorder").await;
    let mut c = h.container_config("main", &["sleep", "1000"]);
    let names = [
        "ZETA", "ALPHA", "MID", "BETA", "OMEGA", "GAMMA", "DELTA", "EPS",
    ];
    c.envs = names
        .iter()
        .enumerate()
        .map(|(i, k)| KeyValue {
            key: k.to_string(),
            value: i.to_string(),
        })
        .collect();
    let id = h.run(&pod, c).await;
    let order = |text: &str| -> Vec<String> {
        text.lines()
            .filter_map(|l| l.split_once('=').map(|(k, _)| k.to_string()))
            .filter(|k| names.contains(&k.as_str()))
            .collect()
    };
    let init = h
        .exec(&id, &["sh", "-c", "tr '\\0' '\\n' < /proc/1/environ"])
        .await;
    assert_eq!(order(&String::from_utf8_lossy(&init.stdout)), names);
    for _ in 0..3 {
        let exec = h.exec(&id, &["env"]).await;
        assert_eq!(order(&String::from_utf8_lossy(&exec.stdout)), names);
    }
    h.cleanup().await;
}
