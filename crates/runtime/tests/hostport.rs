//! hostPort through the CNI portmap plugin: a pod's port is reachable from the
//! host on the bridge gateway address and on 127.0.0.1 (portmap turns on
//! route_localnet for the bridge and masquerades hairpin/localhost traffic), and
//! the mapping is gone after the sandbox is removed.
#![allow(clippy::unwrap_used, missing_docs)] // test code: a failed unwrap is a failed test

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::Harness;
use k8s_cri::v1::*;

fn http_get(addr: &str) -> std::io::Result<String> {
    let mut s =
        std::net::TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(3)))?;
    s.write_all(b"GET /ping HTTP/1.0\r\n\r\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

async fn get_until(addr: &str) -> String {
    for _ in 0..100 {
        if let Ok(body) = http_get(addr) {
            if body.contains("pong") {
                return body;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nothing answered on {addr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn host_port_reaches_the_pod() {
    let net = 71;
    let mut h = Harness::start(net).await;
    // Unique per test process, away from common service ports.
    let host_port = 20000 + (std::process::id() % 20000) as i32;
    let mut cfg = h.pod_config("hostport");
    cfg.port_mappings = vec![PortMapping {
        protocol: Protocol::Tcp as i32,
        container_port: 80,
        host_port,
        host_ip: String::new(),
    }];
    let pod = h.run_pod_with(cfg).await;
    let c = h.container_config(
        "web",
        &[
            "sh",
            "-c",
            "mkdir -p /www; echo pong > /www/ping; exec httpd -f -p 80 -h /www",
        ],
    );
    h.run(&pod, c).await;
    let gateway = format!("10.200.{net}.1:{host_port}");
    assert!(get_until(&gateway).await.contains("200 OK"));
    let loopback = format!("127.0.0.1:{host_port}");
    assert!(get_until(&loopback).await.contains("200 OK"));

    h.rt.remove_pod_sandbox(RemovePodSandboxRequest {
        pod_sandbox_id: pod.0.clone(),
    })
    .await
    .unwrap();
    assert!(
        http_get(&gateway).is_err(),
        "the mapping is removed with the pod"
    );
    h.cleanup().await;
}
