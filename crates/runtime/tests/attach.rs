//! CRI Attach through the runtime's WebSocket server: a container's stdin kept
//! open by its monitor (closed after the first session with stdin_once), output
//! to attachers and to the CRI log, and TTY containers (pty, resize, exit code).
#![allow(clippy::unwrap_used, missing_docs)] // test code: a failed unwrap is a failed test

mod common;

use std::time::Duration;

use common::Harness;
use futures::{SinkExt, StreamExt};
use k8s_cri::v1::*;
use skiff_runtime::OciRuntimeKind;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn attach(h: &mut Harness, id: &str, stdin: bool, tty: bool) -> Ws {
    let url =
        h.rt.attach(AttachRequest {
            container_id: id.into(),
            stdin,
            tty,
            stdout: true,
            stderr: !tty,
        })
        .await
        .unwrap()
        .into_inner()
        .url;
    let mut req = url
        .replacen("http://", "ws://", 1)
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "v5.channel.k8s.io".parse().unwrap(),
    );
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

/// Frames until the server closes: (stdout, stderr, status JSON, close code).
async fn drain(ws: &mut Ws) -> (String, String, String, Option<u16>) {
    let (mut out, mut err, mut status, mut code) = (Vec::new(), Vec::new(), Vec::new(), None);
    while let Ok(Some(msg)) = tokio::time::timeout(Duration::from_secs(20), ws.next()).await {
        match msg {
            Ok(Message::Binary(b)) if !b.is_empty() => match b[0] {
                1 => out.extend_from_slice(&b[1..]),
                2 => err.extend_from_slice(&b[1..]),
                3 => status.extend_from_slice(&b[1..]),
                _ => {}
            },
            Ok(Message::Close(f)) => {
                code = f.map(|f| u16::from(f.code));
                break;
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    let s = |v: Vec<u8>| String::from_utf8_lossy(&v).into_owned();
    (s(out), s(err), s(status), code)
}

fn log_text(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn attach_pipes_stdin_and_stdin_once() {
    let mut h = Harness::start(41).await;
    let pod = h.run_pod("attach").await;

    // A reader waiting on stdin: the monitor keeps it open until someone attaches.
    let mut c = h.container_config(
        "reader",
        &[
            "sh",
            "-c",
            "echo started; read line; echo got:$line; echo err >&2; exit 4",
        ],
    );
    c.stdin = true;
    c.stdin_once = true;
    let id = h.run(&pod, c).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        h.status(&id).await.state,
        ContainerState::ContainerRunning as i32,
        "the container must still wait for stdin"
    );
    let mut ws = attach(&mut h, &id, true, false).await;
    ws.send(Message::Binary(b"\x00hello\n".to_vec().into()))
        .await
        .unwrap();
    let (out, err, status, code) = drain(&mut ws).await;
    assert_eq!(out, "got:hello\n");
    assert_eq!(err, "err\n");
    assert!(status.contains("\"Success\""), "{status}");
    assert_eq!(code, Some(1000));
    let s = h.wait_exit(&id, 10).await;
    assert_eq!(s.exit_code, 4);
    let log = log_text(&s.log_path);
    assert!(log.contains(" stdout F started\n"), "{log}");
    assert!(log.contains(" stdout F got:hello\n"), "{log}");
    assert!(log.contains(" stderr F err\n"), "{log}");

    // stdin_once: closing stdin of the first session closes the container's stdin.
    let mut c = h.container_config("cat", &["cat"]);
    c.stdin = true;
    c.stdin_once = true;
    let id = h.run(&pod, c).await;
    let mut ws = attach(&mut h, &id, true, false).await;
    // A second attacher without stdin sees the same output.
    let mut watcher = attach(&mut h, &id, false, false).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    ws.send(Message::Binary(b"\x00one\ntwo\n".to_vec().into()))
        .await
        .unwrap();
    ws.send(Message::Binary(vec![255u8, 0].into()))
        .await
        .unwrap();
    let (out, _, status, _) = drain(&mut ws).await;
    assert_eq!(out, "one\ntwo\n");
    assert!(status.contains("\"Success\""), "{status}");
    let (out2, _, _, code2) = drain(&mut watcher).await;
    assert_eq!(out2, "one\ntwo\n");
    assert_eq!(code2, Some(1000));
    assert_eq!(h.wait_exit(&id, 10).await.exit_code, 0);

    // Attaching to an exited container is refused.
    assert!(h
        .rt
        .attach(AttachRequest {
            container_id: id.clone(),
            stdout: true,
            ..Default::default()
        })
        .await
        .is_err());
    h.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn attach_tty_container_resize_and_log() {
    tty_container(OciRuntimeKind::Runc, 42).await
}

#[tokio::test(flavor = "multi_thread")]
async fn attach_tty_container_under_crun() {
    tty_container(OciRuntimeKind::Crun, 44).await
}

#[cfg(feature = "youki")]
#[tokio::test(flavor = "multi_thread")]
async fn attach_tty_container_under_youki() {
    tty_container(OciRuntimeKind::Youki, 65).await
}

async fn tty_container(kind: OciRuntimeKind, net: u8) {
    let mut h = Harness::start_with(net, kind).await;
    let pod = h.run_pod("tty").await;
    let mut c = h.container_config("shell", &["sh"]);
    c.stdin = true;
    c.stdin_once = true;
    c.tty = true;
    let id = h.run(&pod, c).await;
    let mut ws = attach(&mut h, &id, true, true).await;
    ws.send(Message::Binary(
        [&[4u8][..], br#"{"Width":101,"Height":33}"#]
            .concat()
            .into(),
    ))
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    ws.send(Message::Binary(
        b"\x00tty; stty size; echo mark-$((6*7)); exit 5\n"
            .to_vec()
            .into(),
    ))
    .await
    .unwrap();
    let (out, err, status, code) = drain(&mut ws).await;
    assert!(out.contains("/dev/pts/0"), "{out}");
    assert!(out.contains("33 101"), "{out}");
    assert!(out.contains("mark-42"), "{out}");
    assert!(err.is_empty());
    assert!(status.contains("\"Success\""), "{status}");
    assert_eq!(code, Some(1000));
    let s = h.wait_exit(&id, 10).await;
    assert_eq!(s.exit_code, 5);
    let log = log_text(&s.log_path);
    assert!(log.contains(" stdout F mark-42\r"), "{log}");
    h.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn created_container_removed_without_start() {
    let mut h = Harness::start(43).await;
    let pod = h.run_pod("created").await;
    let c = h.container_config("never", &["sleep", "1000"]);
    let id = h.create(&pod, c).await;
    assert_eq!(
        h.status(&id).await.state,
        ContainerState::ContainerCreated as i32
    );
    let monitors = || {
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter(|e| {
                let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
                String::from_utf8_lossy(&cmd).contains(&id)
            })
            .count()
    };
    assert!(monitors() >= 1, "a monitor holds the created container");
    h.rt.remove_container(RemoveContainerRequest {
        container_id: id.clone(),
    })
    .await
    .unwrap();
    for _ in 0..100 {
        if monitors() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(monitors(), 0, "no process of the removed container is left");
    assert!(!h.root.join("runtime/oci").join(&id).exists());
    h.cleanup().await;
}
