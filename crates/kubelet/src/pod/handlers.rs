//! Running probe and lifecycle handlers: exec (CRI ExecSync), httpGet (a
//! minimal HTTP/1.1 GET), tcpSocket (connect) and grpc (health check call).

use std::time::Duration;

use k8s_openapi::api::core::v1::{ExecAction, GRPCAction, HTTPGetAction, TCPSocketAction};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::cri::Cri;

/// Resolve a port that may be a named container port.
fn port_number(port: &IntOrString, named: &[(String, i32)]) -> Result<u16, String> {
    match port {
        IntOrString::Int(p) => u16::try_from(*p).map_err(|_| format!("invalid port {p}")),
        IntOrString::String(s) => {
            if let Ok(p) = s.parse::<u16>() {
                return Ok(p);
            }
            named
                .iter()
                .find(|(n, _)| n == s)
                .and_then(|(_, p)| u16::try_from(*p).ok())
                .ok_or_else(|| format!("couldn't find port {s}"))
        }
    }
}

/// Run an exec handler; Ok when it exits 0, Err with its output otherwise.
pub async fn exec(
    cri: &dyn Cri,
    container_id: &str,
    a: &ExecAction,
    timeout: Duration,
) -> Result<(), String> {
    let cmd = a.command.clone().unwrap_or_default();
    let secs = timeout.as_secs().max(1) as i64;
    let res = tokio::time::timeout(
        timeout + Duration::from_secs(1),
        cri.exec_sync(container_id, cmd, secs),
    )
    .await
    .map_err(|_| format!("command timed out after {}s", secs))?
    .map_err(|e| e.to_string())?;
    if res.exit_code == 0 {
        Ok(())
    } else {
        let mut out = String::from_utf8_lossy(&res.stdout).into_owned();
        out.push_str(&String::from_utf8_lossy(&res.stderr));
        Err(if out.is_empty() {
            format!("command exited with {}", res.exit_code)
        } else {
            out
        })
    }
}

/// Run an httpGet handler against `pod_ip`; success is a 2xx or 3xx answer.
pub async fn http_get(
    a: &HTTPGetAction,
    pod_ip: &str,
    named: &[(String, i32)],
    timeout: Duration,
) -> Result<(), String> {
    let port = port_number(&a.port, named)?;
    let host = a
        .host
        .clone()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| pod_ip.to_string());
    let path = a
        .path
        .clone()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "/".into());
    if a.scheme.as_deref() == Some("HTTPS") {
        return tcp_connect(&host, port, timeout).await;
    }
    let fut = async {
        let mut s = TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| {
                format!("Get \"http://{host}:{port}{path}\": dial tcp {host}:{port}: {e}")
            })?;
        let mut req = format!("GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: kube-probe/1.33\r\nAccept: */*\r\nConnection: close\r\n");
        for h in a.http_headers.iter().flatten() {
            req.push_str(&format!("{}: {}\r\n", h.name, h.value));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut buf = vec![0u8; 1024];
        let mut got = 0;
        while got < 12 {
            let n = s.read(&mut buf[got..]).await.map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            got += n;
        }
        let head = String::from_utf8_lossy(&buf[..got]);
        let code: u16 = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| "malformed HTTP response".to_string())?;
        if (200..400).contains(&code) {
            Ok(())
        } else {
            Err(format!("HTTP probe failed with statuscode: {code}"))
        }
    };
    tokio::time::timeout(timeout, fut)
        .await
        .map_err(|_| format!("Get \"http://{host}:{port}{path}\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"))?
}

/// Run a tcpSocket handler.
pub async fn tcp(
    a: &TCPSocketAction,
    pod_ip: &str,
    named: &[(String, i32)],
    timeout: Duration,
) -> Result<(), String> {
    let port = port_number(&a.port, named)?;
    let host = a
        .host
        .clone()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| pod_ip.to_string());
    tcp_connect(&host, port, timeout).await
}

async fn tcp_connect(host: &str, port: u16, timeout: Duration) -> Result<(), String> {
    match tokio::time::timeout(timeout, TcpStream::connect((host, port))).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("dial tcp {host}:{port}: {e}")),
        Err(_) => Err(format!("dial tcp {host}:{port}: i/o timeout")),
    }
}

/// Run a grpc health check (grpc.health.v1.Health/Check) over h2c.
pub async fn grpc(a: &GRPCAction, pod_ip: &str, timeout: Duration) -> Result<(), String> {
    let port = u16::try_from(a.port).map_err(|_| format!("invalid port {}", a.port))?;
    let service = a.service.clone().unwrap_or_default();
    let fut = async {
        let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{pod_ip}:{port}"))
            .map_err(|e| e.to_string())?;
        let channel = endpoint.connect().await.map_err(|e| {
            format!(
                "timeout: failed to connect service \"{pod_ip}:{port}\" within {}s: {e}",
                timeout.as_secs()
            )
        })?;
        let mut client = tonic::client::Grpc::new(channel);
        client.ready().await.map_err(|e| e.to_string())?;
        let path = http::uri::PathAndQuery::from_static("/grpc.health.v1.Health/Check");
        let codec = tonic_prost_codec();
        let resp = client
            .unary(
                tonic::Request::new(HealthCheckRequest { service }),
                path,
                codec,
            )
            .await
            .map_err(|e| format!("error: health rpc probe failed: {}", e.message()))?;
        if resp.into_inner().status == 1 {
            Ok(())
        } else {
            Err("service unhealthy (responded with \"NOT_SERVING\")".to_string())
        }
    };
    tokio::time::timeout(timeout, fut).await.map_err(|_| {
        format!(
            "timeout: health rpc did not complete within {}s",
            timeout.as_secs()
        )
    })?
}

/// grpc.health.v1.HealthCheckRequest.
#[derive(Clone, PartialEq, prost::Message)]
struct HealthCheckRequest {
    #[prost(string, tag = "1")]
    service: String,
}

/// grpc.health.v1.HealthCheckResponse.
#[derive(Clone, PartialEq, prost::Message)]
struct HealthCheckResponse {
    #[prost(int32, tag = "1")]
    status: i32,
}

fn tonic_prost_codec() -> tonic_prost::ProstCodec<HealthCheckRequest, HealthCheckResponse> {
    tonic_prost::ProstCodec::default()
}
