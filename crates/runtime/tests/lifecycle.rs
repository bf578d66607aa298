//! Container lifecycle through the CRI socket: exit codes, log format, OOM kill,
//! stop escalation, ExecSync — under runc, crun and (feature `youki`) libcontainer.
#![allow(clippy::unwrap_used, missing_docs)] // test code: a failed unwrap is a failed test

mod common;

use std::time::{Duration, Instant};

use common::Harness;
use skiff_runtime::OciRuntimeKind;

/// Each scenario runs under runc and under crun (crun inside a private mount
/// namespace without this host's hybrid cgroup2 mount), and under youki's
/// libcontainer when built with the `youki` feature.
macro_rules! both_runtimes {
    ($($name:ident => $runc_net:expr, $crun_net:expr, $youki_net:expr;)*) => {
        mod runc {
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $name() {
                super::$name(super::OciRuntimeKind::Runc, $runc_net).await
            })*
        }
        mod crun {
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $name() {
                super::$name(super::OciRuntimeKind::Crun, $crun_net).await
            })*
        }
        #[cfg(feature = "youki")]
        mod youki {
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $name() {
                super::$name(super::OciRuntimeKind::Youki, $youki_net).await
            })*
        }
    };
}

both_runtimes! {
    exit_codes_and_log_format => 11, 15, 61;
    memory_limit_oom_is_reported => 12, 16, 62;
    stop_escalates_to_sigkill_after_timeout => 13, 17, 63;
    exec_sync_output_exit_code_and_timeout => 14, 18, 64;
}
use k8s_cri::v1::*;

async fn exit_codes_and_log_format(kind: OciRuntimeKind, net: u8) {
    let mut h = Harness::start_with(net, kind).await;
    let v =
        h.rt.version(VersionRequest::default())
            .await
            .unwrap()
            .into_inner();
    assert_eq!(v.runtime_name, "skiff");
    let pod = h.run_pod("exits").await;

    let ok = h.container_config(
        "ok",
        &["sh", "-c", "echo out; echo err >&2; printf partial"],
    );
    let ok_id = h.run(&pod, ok).await;
    let fail_id = {
        let c = h.container_config("fail", &["sh", "-c", "exit 3"]);
        h.run(&pod, c).await
    };
    let s = h.wait_exit(&ok_id, 10).await;
    assert_eq!((s.exit_code, s.reason.as_str()), (0, "Completed"));
    assert!(s.finished_at >= s.started_at && s.started_at > 0);
    let s2 = h.wait_exit(&fail_id, 10).await;
    assert_eq!((s2.exit_code, s2.reason.as_str()), (3, "Error"));

    let log = std::fs::read_to_string(&s.log_path).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 3, "{log}");
    let mut seen = Vec::new();
    for l in &lines {
        let parts: Vec<&str> = l.splitn(4, ' ').collect();
        assert!(
            chrono::DateTime::parse_from_rfc3339(parts[0]).is_ok(),
            "{l}"
        );
        assert_eq!(parts[2], "F");
        seen.push(format!("{} {}", parts[1], parts[3]));
    }
    seen.sort();
    assert_eq!(seen, ["stderr err", "stdout out", "stdout partial"]);

    let list =
        h.rt.list_containers(ListContainersRequest {
            filter: Some(ContainerFilter {
                pod_sandbox_id: pod.0.clone(),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.containers.len(), 2);
    h.rt.remove_container(RemoveContainerRequest {
        container_id: ok_id.clone(),
    })
    .await
    .unwrap();
    assert!(h
        .rt
        .container_status(ContainerStatusRequest {
            container_id: ok_id,
            verbose: false
        })
        .await
        .is_err());
    h.cleanup().await;
}

async fn memory_limit_oom_is_reported(kind: OciRuntimeKind, net: u8) {
    let mut h = Harness::start_with(net, kind).await;
    let pod = h.run_pod("oom").await;
    let mut c = h.container_config("hog", &["sh", "-c", "head -c 300000000 /dev/zero | tail"]);
    if let Some(r) = c.linux.as_mut().and_then(|l| l.resources.as_mut()) {
        r.memory_limit_in_bytes = 32 * 1024 * 1024;
    }
    let id = h.run(&pod, c).await;
    let s = h.wait_exit(&id, 30).await;
    assert_eq!(s.reason, "OOMKilled", "{s:?}");
    assert_ne!(s.exit_code, 0);
    h.cleanup().await;
}

async fn stop_escalates_to_sigkill_after_timeout(kind: OciRuntimeKind, net: u8) {
    let mut h = Harness::start_with(net, kind).await;
    let pod = h.run_pod("stop").await;
    // PID 1 without a SIGTERM handler ignores SIGTERM.
    let stubborn = h.container_config("stubborn", &["sleep", "1000"]);
    let a = h.run(&pod, stubborn).await;
    let polite = h.container_config(
        "polite",
        &[
            "sh",
            "-c",
            "trap 'exit 0' TERM; while true; do sleep 0.1; done",
        ],
    );
    let b = h.run(&pod, polite).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let t = Instant::now();
    h.rt.stop_container(StopContainerRequest {
        container_id: b.clone(),
        timeout: 10,
    })
    .await
    .unwrap();
    assert!(t.elapsed() < Duration::from_secs(5));
    let sb = h.status(&b).await;
    assert_eq!(
        (sb.state, sb.exit_code),
        (ContainerState::ContainerExited as i32, 0)
    );

    let t = Instant::now();
    h.rt.stop_container(StopContainerRequest {
        container_id: a.clone(),
        timeout: 1,
    })
    .await
    .unwrap();
    let took = t.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(6),
        "{took:?}"
    );
    let sa = h.status(&a).await;
    assert_eq!(
        (sa.state, sa.exit_code),
        (ContainerState::ContainerExited as i32, 137)
    );
    // Idempotent.
    h.rt.stop_container(StopContainerRequest {
        container_id: a,
        timeout: 1,
    })
    .await
    .unwrap();
    h.cleanup().await;
}

async fn exec_sync_output_exit_code_and_timeout(kind: OciRuntimeKind, net: u8) {
    let mut h = Harness::start_with(net, kind).await;
    let pod = h.run_pod("execsync").await;
    let c = h.container_config("main", &["sleep", "1000"]);
    let id = h.run(&pod, c).await;
    let r = h
        .exec(&id, &["sh", "-c", "echo hi; echo oops >&2; exit 5"])
        .await;
    assert_eq!(r.stdout, b"hi\n");
    assert_eq!(r.stderr, b"oops\n");
    assert_eq!(r.exit_code, 5);
    let r = h.exec(&id, &["hostname"]).await;
    assert_eq!(String::from_utf8_lossy(&r.stdout).trim(), "execsync");
    let r = h.exec(&id, &["cat", "/etc/resolv.conf"]).await;
    assert!(String::from_utf8_lossy(&r.stdout).contains("nameserver 10.43.0.10"));
    let err =
        h.rt.exec_sync(ExecSyncRequest {
            container_id: id.clone(),
            cmd: vec!["sleep".into(), "5".into()],
            timeout: 1,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::DeadlineExceeded);
    h.cleanup().await;
}
