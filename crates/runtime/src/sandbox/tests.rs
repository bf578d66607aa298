//! The sandbox lifecycle's kernel calls, in order, recorded by the fake `Syscall`: teardown
//! releases the network before it stops the infra process and unmounts /dev/shm, and a
//! failed setup undoes what it did.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use k8s_cri::v1::{PodSandboxConfig, PodSandboxMetadata};

use crate::config::RuntimeConfig;
use crate::images::DirImageSource;
use crate::runtime::Runtime;
use crate::state::{now_ns, SandboxRecord};
use crate::streaming::Streams;
use crate::sys::fake::{Call, Recorder};
use crate::sys::Signal;

/// A runtime under `root` over the fake kernel; no CNI plugins and no helper binary exist.
fn runtime(root: &Path) -> (Arc<Runtime>, Arc<Recorder>) {
    let images = Arc::new(DirImageSource::new(root));
    let mut cfg = RuntimeConfig::new(root.join("rt"), images, root.join("no-helper"));
    cfg.cni_bin_dir = root.join("no-cni");
    cfg.cni_conf.pod_cidr = Some("10.250.0.0/24".into());
    let sys = Arc::new(Recorder::default());
    let rt = Runtime::open_with(cfg, Streams::new(), sys.clone()).unwrap();
    (rt, sys)
}

fn pod(uid: &str) -> PodSandboxConfig {
    PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: "p".into(),
            uid: uid.into(),
            ..Default::default()
        }),
        hostname: "p".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn removal_releases_network_then_infra_then_shm_then_cgroup() {
    let tmp = tempfile::tempdir().unwrap();
    let (rt, sys) = runtime(tmp.path());
    let id = "a".repeat(64);
    let dir = rt.layout.sandbox_dir(&id);
    std::fs::create_dir_all(dir.join("shm")).unwrap();
    let netns = rt.layout.netns_path(&id);
    let rec = SandboxRecord {
        id: id.clone(),
        config: pod("u1"),
        runtime_handler: String::new(),
        created_at: now_ns(),
        stopped: false,
        netns: netns.clone(),
        ip: Some("10.250.0.2".into()),
        cni_result: None,
        infra_pid: Some(4242),
        ns_pid: Some(4242),
        infra_start: 7,
        cgroup_parent: "/skiff/u1".into(),
    };
    rt.save_sandbox(&rec).unwrap();
    sys.spawn(4242, 7);
    assert!(rt.sandbox_ready(&rec));

    rt.remove_sandbox(&id).await.unwrap();

    assert_eq!(
        sys.calls(),
        [
            Call::RemoveNetns(netns),
            Call::Kill(4242, Signal::SIGTERM),
            Call::Unmount(dir.join("shm")),
            Call::RemoveCgroup("/skiff/u1".into()),
        ]
    );
    assert!(!dir.exists());
    assert!(rt.list_sandboxes(None).unwrap().is_empty());
    // Removing again is a no-op.
    rt.remove_sandbox(&id).await.unwrap();
    assert_eq!(sys.calls().len(), 4);
}

#[tokio::test]
async fn an_infra_process_that_ignores_sigterm_gets_sigkill() {
    let tmp = tempfile::tempdir().unwrap();
    let (rt, sys) = runtime(tmp.path());
    let rec = SandboxRecord {
        id: "b".repeat(64),
        config: pod("u2"),
        runtime_handler: String::new(),
        created_at: now_ns(),
        stopped: false,
        netns: PathBuf::new(),
        ip: None,
        cni_result: None,
        infra_pid: Some(99),
        ns_pid: None,
        infra_start: 0,
        cgroup_parent: "/skiff/u2".into(),
    };
    std::fs::create_dir_all(rt.layout.sandbox_dir(&rec.id)).unwrap();
    rt.save_sandbox(&rec).unwrap();
    sys.spawn_ignoring_sigterm(99, 0);

    rt.stop_sandbox(&rec.id).await.unwrap();

    assert_eq!(
        sys.calls(),
        [
            Call::Kill(99, Signal::SIGTERM),
            Call::Kill(99, Signal::SIGKILL)
        ]
    );
    assert!(rt.sandbox(&rec.id).unwrap().stopped);
}

#[tokio::test]
async fn a_failed_setup_undoes_what_it_did() {
    let tmp = tempfile::tempdir().unwrap();
    let (rt, sys) = runtime(tmp.path());

    let err = rt.run_sandbox(pod("u3"), String::new()).await.unwrap_err();

    assert!(err.to_string().contains("infra"), "{err}");
    let calls = sys.calls();
    let Some(Call::MountShm(shm)) = calls.first().cloned() else {
        panic!("{calls:?}");
    };
    let Some(Call::CreateNetns(netns)) = calls.get(1).cloned() else {
        panic!("{calls:?}");
    };
    assert_eq!(
        calls[2..],
        [Call::RemoveNetns(netns), Call::Unmount(shm.clone())]
    );
    assert!(!shm.parent().unwrap().exists());
    assert!(rt.list_sandboxes(None).unwrap().is_empty());
}
