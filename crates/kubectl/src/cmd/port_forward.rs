//! `kubectl port-forward`: local listeners whose connections each open a
//! `v2.portforward.k8s.io` WebSocket (data channel 0, error channel 1, each starting
//! with the port number) to the pod.

use crate::client::Api;
use crate::cmd::targets::target_pod;
use crate::ctx::{err, out, CmdError, CmdResult, Ctx};
use crate::flags::{f, Kind, Spec};
use crate::json_get::{arr, i, s};
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

/// Flags of `port-forward`.
pub const FLAGS: &[Spec] = &[
    f("address", None, Kind::Multi),
    f("pod-running-timeout", None, Kind::Value),
];

/// Resolves a remote port spec (number or container port name) on the pod.
fn remote_port(pod: &Value, spec: &str) -> Result<u16, CmdError> {
    if let Ok(p) = spec.parse::<u16>() {
        return Ok(p);
    }
    for c in arr(pod, "/spec/containers") {
        for p in arr(c, "/ports") {
            if s(p, "/name") == spec {
                return u16::try_from(i(p, "/containerPort"))
                    .map_err(|_| CmdError::Msg(format!("invalid port {spec}")));
            }
        }
    }
    Err(CmdError::Msg(format!(
        "Pod '{}' does not have a named port '{spec}'",
        s(pod, "/metadata/name")
    )))
}

async fn forward(api: Api, path: String, mut tcp: TcpStream, local: u16, remote: u16) {
    let (ws, _) = match api.websocket(&path, &["v2.portforward.k8s.io"]).await {
        Ok(x) => x,
        Err(e) => {
            err(&format!(
                "error: an error occurred forwarding {local} -> {remote}: {e}\n"
            ));
            return;
        }
    };
    let (mut sink, mut stream) = ws.split();
    let (mut rd, mut wr) = tcp.split();
    let mut seen = [false; 2];
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        tokio::select! {
            n = rd.read(&mut buf) => {
                let n = n.unwrap_or(0);
                if n == 0 {
                    break;
                }
                let mut b = Vec::with_capacity(n + 1);
                b.push(0u8);
                b.extend_from_slice(&buf[..n]);
                if sink.send(Message::Binary(b.into())).await.is_err() {
                    break;
                }
            }
            m = stream.next() => {
                let Some(Ok(m)) = m else { break };
                match m {
                    Message::Binary(d) if !d.is_empty() => {
                        let ch = usize::from(d[0] & 1);
                        let body = &d[1..];
                        // each channel opens with the two-byte port number
                        if !seen[ch] {
                            seen[ch] = true;
                            if body.len() == 2 {
                                continue;
                            }
                        }
                        if ch == 0 {
                            if wr.write_all(body).await.is_err() {
                                break;
                            }
                        } else if !body.is_empty() {
                            err(&format!(
                                "error: an error occurred forwarding {local} -> {remote}: error forwarding port {remote} to pod: {}\n",
                                String::from_utf8_lossy(body)
                            ));
                        }
                    }
                    Message::Close(_) => break,
                    _ => {}
                }
            }
        }
    }
    let _ = sink
        .send(Message::Close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        })))
        .await;
}

/// A local listener and the ports it forwards between.
type Listener = (TcpListener, u16, u16);

/// Runs `port-forward`.
pub async fn run(ctx: &Ctx) -> CmdResult {
    let args = ctx.args();
    let Some((target, ports)) = args.split_first() else {
        return Err(ctx.usage_h("TYPE/NAME and list of ports are required for port-forward"));
    };
    if ports.is_empty() {
        return Err(ctx.usage_h("TYPE/NAME and list of ports are required for port-forward"));
    }
    let api = Api::connect(ctx).await?;
    let pod = target_pod(&api, target).await?;
    let phase = s(&pod, "/status/phase");
    if phase != "Running" {
        return Err(CmdError::Msg(format!(
            "unable to forward port because pod is not running. Current status={phase}"
        )));
    }
    let mut addrs: Vec<String> = ctx
        .p
        .all("address")
        .iter()
        .flat_map(|a| a.split(',').map(str::to_string).collect::<Vec<_>>())
        .collect();
    if addrs.is_empty() {
        addrs.push("localhost".into());
    }
    let mut listeners = Vec::new();
    for spec in ports {
        listeners.extend(listen(&pod, spec, &addrs).await?);
    }
    let base = format!(
        "/api/v1/namespaces/{}/pods/{}/portforward",
        s(&pod, "/metadata/namespace"),
        s(&pod, "/metadata/name")
    );
    let mut tasks = Vec::new();
    for (lis, local, remote) in listeners {
        let api = api.clone();
        let base = base.clone();
        tasks.push(tokio::spawn(async move {
            while let Ok((tcp, _)) = lis.accept().await {
                out(&format!("Handling connection for {local}\n"));
                let path = format!("{base}?ports={remote}");
                tokio::spawn(forward(api.clone(), path, tcp, local, remote));
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}

/// Listens for one `[LOCAL:]REMOTE` spec on every address (`localhost` is 127.0.0.1
/// and, when it can be had, [::1]); local port 0 picks a free one, shared by all.
async fn listen(pod: &Value, spec: &str, addrs: &[String]) -> Result<Vec<Listener>, CmdError> {
    let (l, r) = match spec.split_once(':') {
        Some((l, r)) => (l, r),
        None => (spec, spec),
    };
    let remote = remote_port(pod, r)?;
    let mut local: u16 = if l.is_empty() {
        0
    } else {
        l.parse()
            .map_err(|_| CmdError::Msg(format!("Error parsing local port '{l}'")))?
    };
    let mut listeners = Vec::new();
    for a in addrs {
        let hosts: Vec<&str> = if a == "localhost" {
            vec!["127.0.0.1", "[::1]"]
        } else {
            vec![a.as_str()]
        };
        for h in hosts {
            match TcpListener::bind(format!("{h}:{local}")).await {
                Ok(lis) => {
                    if local == 0 {
                        local = lis.local_addr().map(|x| x.port()).unwrap_or(0);
                    }
                    out(&format!("Forwarding from {h}:{local} -> {remote}\n"));
                    listeners.push((lis, local, remote));
                }
                Err(e) if h == "[::1]" => drop(e),
                Err(e) => {
                    return Err(CmdError::Msg(format!(
                        "unable to listen on port {local}: {e}"
                    )))
                }
            }
        }
    }
    Ok(listeners)
}
