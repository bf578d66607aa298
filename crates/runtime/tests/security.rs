//! Pod-level isolation settings through CRI: a shared PID namespace (the infra
//! process as PID 1), per-container PID namespaces, the pids limit and the
//! RuntimeDefault seccomp profile.

mod common;

use common::Harness;
use k8s_cri::v1::*;

fn pid_mode(c: &mut ContainerConfig, mode: i32) {
    if let Some(sc) = c.linux.as_mut().and_then(|l| l.security_context.as_mut()) {
        sc.namespace_options = Some(NamespaceOption {
            pid: mode,
            ..Default::default()
        });
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn shared_pid_namespace_between_containers() {
    let mut h = Harness::start(51).await;
    let mut cfg = h.pod_config("sharedpid");
    if let Some(sc) = cfg.linux.as_mut().and_then(|l| l.security_context.as_mut()) {
        sc.namespace_options = Some(NamespaceOption {
            pid: NamespaceMode::Pod as i32,
            ..Default::default()
        });
    }
    let pod = h.run_pod_with(cfg).await;
    let mut a = h.container_config("a", &["sleep", "4242"]);
    pid_mode(&mut a, NamespaceMode::Pod as i32);
    h.run(&pod, a).await;
    let mut b = h.container_config("b", &["sleep", "1000"]);
    pid_mode(&mut b, NamespaceMode::Pod as i32);
    let b = h.run(&pod, b).await;

    let r = h.exec(&b, &["ps", "-o", "pid,args"]).await;
    let ps = String::from_utf8_lossy(&r.stdout).into_owned();
    assert!(ps.contains("sleep 4242"), "b sees a's process:\n{ps}");
    let first = ps.lines().nth(1).unwrap_or_default().trim().to_string();
    assert!(
        first.starts_with("1 ") && first.contains("runtime-helper"),
        "PID 1 is the pod's infra process:\n{ps}"
    );

    // A pod without sharing: each container is PID 1 of its own namespace.
    let other = h.run_pod("ownpid").await;
    let c = h.container_config("solo", &["sleep", "1000"]);
    let solo = h.run(&other, c).await;
    let r = h.exec(&solo, &["ps", "-o", "pid,args"]).await;
    let ps = String::from_utf8_lossy(&r.stdout).into_owned();
    assert!(!ps.contains("sleep 4242"), "{ps}");
    assert!(
        ps.lines()
            .nth(1)
            .unwrap_or_default()
            .trim()
            .starts_with("1 sleep"),
        "{ps}"
    );

    // Stopping the sandbox ends the shared namespace and its processes.
    h.rt.stop_pod_sandbox(StopPodSandboxRequest {
        pod_sandbox_id: pod.0.clone(),
    })
    .await
    .unwrap();
    assert_eq!(
        h.status(&b).await.state,
        ContainerState::ContainerExited as i32
    );
    h.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pids_limit_and_runtime_default_seccomp() {
    let mut h = Harness::start(52).await;
    let pod = h.run_pod("secure").await;
    let mut c = h.container_config("confined", &["sleep", "1000"]);
    if let Some(l) = c.linux.as_mut() {
        if let Some(r) = l.resources.as_mut() {
            r.unified.insert("pids.max".into(), "20".into());
        }
        if let Some(sc) = l.security_context.as_mut() {
            sc.seccomp = Some(SecurityProfile {
                profile_type: security_profile::ProfileType::RuntimeDefault as i32,
                localhost_ref: String::new(),
            });
        }
    }
    let confined = h.run(&pod, c).await;
    let r = h
        .exec(&confined, &["cat", "/sys/fs/cgroup/pids/pids.max"])
        .await;
    assert_eq!(String::from_utf8_lossy(&r.stdout).trim(), "20");
    let r = h
        .exec(&confined, &["grep", "Seccomp:", "/proc/self/status"])
        .await;
    assert!(
        String::from_utf8_lossy(&r.stdout).contains('2'),
        "filter mode: {r:?}"
    );
    let r = h
        .exec(&confined, &["sh", "-c", "unshare -U true 2>&1; echo rc=$?"])
        .await;
    let out = String::from_utf8_lossy(&r.stdout).into_owned();
    assert!(
        out.contains("rc=1") && out.contains("Operation not permitted"),
        "{out}"
    );

    let mut c = h.container_config("open", &["sleep", "1000"]);
    if let Some(sc) = c.linux.as_mut().and_then(|l| l.security_context.as_mut()) {
        sc.seccomp = Some(SecurityProfile {
            profile_type: security_profile::ProfileType::Unconfined as i32,
            localhost_ref: String::new(),
        });
    }
    let open = h.run(&pod, c).await;
    let r = h
        .exec(&open, &["grep", "Seccomp:", "/proc/self/status"])
        .await;
    assert!(
        String::from_utf8_lossy(&r.stdout).contains('0'),
        "unconfined"
    );
    h.cleanup().await;
}

/// `drop: [ALL]` + `add: [NET_BIND_SERVICE]` for a non-root user (a common hardened
/// pod) runs with exactly that capability; a privileged container gets every
/// capability this host can grant (its bounding set), not more.
#[tokio::test(flavor = "multi_thread")]
async fn dropped_and_added_capabilities_and_privileged() {
    let mut h = Harness::start(53).await;
    let pod = h.run_pod("caps").await;
    let mut c = h.container_config("hardened", &["sleep", "1000"]);
    if let Some(sc) = c.linux.as_mut().and_then(|l| l.security_context.as_mut()) {
        sc.run_as_user = Some(Int64Value { value: 1000 });
        sc.no_new_privs = true;
        sc.capabilities = Some(Capability {
            drop_capabilities: vec!["ALL".into()],
            add_capabilities: vec!["NET_BIND_SERVICE".into()],
            ..Default::default()
        });
    }
    let hardened = h.run(&pod, c).await;
    let r = h
        .exec(&hardened, &["grep", "Cap", "/proc/self/status"])
        .await;
    let status = String::from_utf8_lossy(&r.stdout).into_owned();
    // NET_BIND_SERVICE is bit 10; nothing inheritable or ambient.
    assert!(status.contains("CapBnd:\t0000000000000400"), "{status}");
    assert!(status.contains("CapInh:\t0000000000000000"), "{status}");
    assert!(status.contains("CapAmb:\t0000000000000000"), "{status}");

    let mut p = h.container_config("privileged", &["sleep", "1000"]);
    if let Some(sc) = p.linux.as_mut().and_then(|l| l.security_context.as_mut()) {
        sc.privileged = true;
    }
    let privileged = h.run(&pod, p).await;
    let r = h
        .exec(&privileged, &["grep", "CapEff", "/proc/self/status"])
        .await;
    let inside = String::from_utf8_lossy(&r.stdout).into_owned();
    let host = std::fs::read_to_string("/proc/self/status").unwrap();
    let host_bnd = host
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .unwrap_or_default()
        .trim()
        .to_string();
    assert!(
        inside.contains(&host_bnd),
        "privileged {inside} vs host {host_bnd}"
    );
    // The host's devices, as containerd gives privileged containers.
    let script = "test -c /dev/kmsg && test -b /dev/$(ls /sys/block | head -n 1) && echo ok";
    let r = h.exec(&privileged, &["sh", "-c", script]).await;
    let out = String::from_utf8_lossy(&r.stdout).into_owned();
    assert_eq!(
        r.exit_code, 0,
        "no /dev/kmsg in the privileged container: {out}"
    );
    assert_eq!(out, "ok\n");
    let r = h.exec(&hardened, &["sh", "-c", "test -e /dev/kmsg"]).await;
    assert_ne!(r.exit_code, 0, "an unprivileged container sees /dev/kmsg");
    h.cleanup().await;
}
