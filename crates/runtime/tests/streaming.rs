//! Streaming through the runtime's WebSocket server: exec (pipes and TTY) with the
//! channel protocol and exit status, and port-forward into a pod's netns.
#![allow(clippy::unwrap_used, missing_docs)] // test code: a failed unwrap is a failed test

mod common;

use std::time::Duration;

use common::Harness;
use futures::{SinkExt, StreamExt};
use k8s_cri::v1::*;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn dial(url: &str, protocol: &str) -> Ws {
    let mut req = url
        .replacen("http://", "ws://", 1)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", protocol.parse().unwrap());
    let (ws, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(
        resp.headers()
            .get("Sec-WebSocket-Protocol")
            .unwrap()
            .to_str()
            .unwrap(),
        protocol
    );
    ws
}

/// Collect frames until the server closes: (stdout, stderr, status JSON, close code).
async fn drain(ws: &mut Ws) -> (Vec<u8>, Vec<u8>, String, Option<u16>) {
    let (mut out, mut err, mut status, mut code) = (Vec::new(), Vec::new(), String::new(), None);
    while let Ok(Some(msg)) = tokio::time::timeout(Duration::from_secs(20), ws.next()).await {
        match msg {
            Ok(Message::Binary(b)) if !b.is_empty() => match b[0] {
                1 => out.extend_from_slice(&b[1..]),
                2 => err.extend_from_slice(&b[1..]),
                3 => status.push_str(&String::from_utf8_lossy(&b[1..])),
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
    (out, err, status, code)
}

async fn exec_url(h: &mut Harness, id: &str, cmd: &[&str], tty: bool, stdin: bool) -> String {
    h.rt.exec(ExecRequest {
        container_id: id.into(),
        cmd: cmd.iter().map(|s| s.to_string()).collect(),
        tty,
        stdin,
        stdout: true,
        stderr: !tty,
    })
    .await
    .unwrap()
    .into_inner()
    .url
}

#[tokio::test(flavor = "multi_thread")]
async fn streaming_exec_pipes_and_tty() {
    let mut h = Harness::start(31).await;
    let pod = h.run_pod("stream").await;
    let c = h.container_config("main", &["sleep", "1000"]);
    let id = h.run(&pod, c).await;

    // Pipes, v5, with stdin closed through channel 255.
    let url = exec_url(
        &mut h,
        &id,
        &["sh", "-c", "cat; echo done >&2; exit 3"],
        false,
        true,
    )
    .await;
    let mut ws = dial(&url, "v5.channel.k8s.io").await;
    ws.send(Message::Binary(b"\x00hello stdin\n".to_vec().into()))
        .await
        .unwrap();
    ws.send(Message::Binary(vec![255u8, 0].into()))
        .await
        .unwrap();
    let (out, err, status, code) = drain(&mut ws).await;
    assert_eq!(out, b"hello stdin\n");
    assert_eq!(err, b"done\n");
    let v: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(v["status"], "Failure");
    assert_eq!(v["reason"], "NonZeroExitCode");
    assert_eq!(v["details"]["causes"][0]["reason"], "ExitCode");
    assert_eq!(v["details"]["causes"][0]["message"], "3");
    assert_eq!(code, Some(1000));

    // Success on v4.
    let url = exec_url(&mut h, &id, &["echo", "ok"], false, false).await;
    let mut ws = dial(&url, "v4.channel.k8s.io").await;
    let (out, _, status, _) = drain(&mut ws).await;
    assert_eq!(out, b"ok\n");
    assert!(status.contains("\"Success\""));

    // TTY: a shell on a pty, resized, exits with 7.
    let url = exec_url(&mut h, &id, &["sh"], true, true).await;
    let mut ws = dial(&url, "v5.channel.k8s.io").await;
    ws.send(Message::Binary(
        [&[4u8][..], br#"{"Width":123,"Height":45}"#]
            .concat()
            .into(),
    ))
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    ws.send(Message::Binary(
        b"\x00tty; stty size; exit 7\n".to_vec().into(),
    ))
    .await
    .unwrap();
    let (out, _, status, code) = drain(&mut ws).await;
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("/dev/pts/"), "{text}");
    assert!(text.contains("45 123"), "{text}");
    assert!(status.contains("\"7\""), "{status}");
    assert_eq!(code, Some(1000));

    // A stale token is refused.
    let mut req = url
        .replacen("http://", "ws://", 1)
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "v5.channel.k8s.io".parse().unwrap(),
    );
    assert!(tokio_tungstenite::connect_async(req).await.is_err());
    h.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn port_forward_reaches_pod_localhost() {
    let mut h = Harness::start(32).await;
    let pod = h.run_pod("pf").await;
    // Listen on 127.0.0.1 only: reachable solely from inside the pod's netns.
    let c = h.container_config(
        "web",
        &[
            "sh",
            "-c",
            "mkdir -p /www; echo forwarded > /www/x; exec httpd -f -p 127.0.0.1:8080 -h /www",
        ],
    );
    let id = h.run(&pod, c).await;
    for _ in 0..50 {
        if h.exec(&id, &["wget", "-q", "-O", "-", "http://127.0.0.1:8080/x"])
            .await
            .exit_code
            == 0
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let url =
        h.rt.port_forward(PortForwardRequest {
            pod_sandbox_id: pod.0.clone(),
            port: vec![8080],
        })
        .await
        .unwrap()
        .into_inner()
        .url;
    let mut ws = dial(&format!("{url}?port=8080"), "v2.portforward.k8s.io").await;
    let mut data = Vec::new();
    let mut headers = 0;
    let mut sent = false;
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
        match msg {
            Message::Binary(b) if !b.is_empty() => {
                if headers < 2 {
                    assert_eq!(&b[1..], &8080u16.to_le_bytes());
                    headers += 1;
                } else if b[0] == 0 {
                    data.extend_from_slice(&b[1..]);
                } else {
                    panic!("error channel: {}", String::from_utf8_lossy(&b[1..]));
                }
                if headers == 2 && !sent {
                    ws.send(Message::Binary(
                        [&[0u8][..], b"GET /x HTTP/1.0\r\n\r\n"].concat().into(),
                    ))
                    .await
                    .unwrap();
                    sent = true;
                }
            }
            Message::Close(_) => break,
            _ => {}
        }
    }
    let text = String::from_utf8_lossy(&data);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.ends_with("forwarded\n"), "{text}");
    h.cleanup().await;
}
