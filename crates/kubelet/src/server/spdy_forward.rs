//! Port-forward for kubectl ≥ 1.31, which tunnels SPDY/3.1 through a WebSocket
//! (`SPDY/3.1+portforward.k8s.io`): each forwarded connection is a pair of SPDY streams
//! (error, data) sharing a `requestID`; each pair is relayed to the pod through its own
//! runtime port-forward session (`v2.portforward.k8s.io`, channel 0 data, 1 error).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket};
use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message as TMsg;

use super::spdy::{self, Codec, Frame};
use crate::cri::Cri;

/// The WebSocket subprotocol kubectl offers for tunnelled SPDY port-forwarding.
pub const SPDY_PORTFORWARD: &str = "SPDY/3.1+portforward.k8s.io";

/// One forwarded connection as the client announced it.
#[derive(Default)]
struct Pair {
    port: u16,
    error: Option<u32>,
    data: Option<u32>,
    /// Bytes from the client for the pod.
    to_pod: Option<mpsc::Sender<Vec<u8>>>,
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

/// Serves one tunnelled SPDY port-forward session for the pod sandbox `sandbox`.
pub async fn serve(socket: WebSocket, cri: Arc<dyn Cri>, sandbox: String) {
    let (mut sink, mut stream) = socket.split();
    let (out_tx, mut out_rx) = mpsc::channel::<Vec<u8>>(64);
    let writer = tokio::spawn(async move {
        while let Some(bytes) = out_rx.recv().await {
            if sink.send(Message::Binary(bytes.into())).await.is_err() {
                break;
            }
        }
        let _ = sink
            .send(Message::Close(Some(axum::extract::ws::CloseFrame {
                code: 1000,
                reason: "".into(),
            })))
            .await;
    });
    let mut codec = Codec::default();
    let mut pairs: HashMap<String, Pair> = HashMap::new();
    let mut by_stream: HashMap<u32, String> = HashMap::new();
    let mut last_id = 0u32;
    'session: while let Some(Ok(msg)) = stream.next().await {
        match msg {
            Message::Binary(b) => codec.push(&b),
            Message::Close(_) => break,
            _ => continue,
        }
        loop {
            let frame = match codec.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "port-forward: bad SPDY frame");
                    break 'session;
                }
            };
            match frame {
                Frame::SynStream { id, headers } => {
                    last_id = last_id.max(id);
                    let _ = out_tx.send(codec.syn_reply(id)).await;
                    let request = header(&headers, "requestid").to_string();
                    let pair = pairs.entry(request.clone()).or_default();
                    pair.port = header(&headers, "port").parse().unwrap_or(pair.port);
                    by_stream.insert(id, request);
                    match header(&headers, "streamtype") {
                        "error" => pair.error = Some(id),
                        "data" => {
                            pair.data = Some(id);
                            let (tx, rx) = mpsc::channel(64);
                            pair.to_pod = Some(tx);
                            tokio::spawn(relay(
                                cri.clone(),
                                sandbox.clone(),
                                pair.port,
                                id,
                                pair.error,
                                rx,
                                out_tx.clone(),
                            ));
                        }
                        other => {
                            tracing::debug!(stream = other, "port-forward: unknown stream type")
                        }
                    }
                }
                Frame::Data { id, fin, data } => {
                    let Some(pair) = by_stream.get(&id).and_then(|r| pairs.get_mut(r)) else {
                        continue;
                    };
                    if pair.data == Some(id) {
                        if !data.is_empty() {
                            let _ = out_tx
                                .send(spdy::window_update(id, data.len() as u32))
                                .await;
                            if let Some(tx) = &pair.to_pod {
                                let _ = tx.send(data).await;
                            }
                        }
                        if fin {
                            pair.to_pod = None;
                        }
                    }
                }
                Frame::Reset(id) => {
                    if let Some(request) = by_stream.remove(&id) {
                        if let Some(pair) = pairs.get_mut(&request) {
                            if pair.data == Some(id) {
                                pair.to_pod = None;
                            }
                        }
                    }
                }
                Frame::Ping(id) => {
                    let _ = out_tx.send(spdy::ping(id)).await;
                }
                Frame::GoAway => break 'session,
                Frame::Other => {}
            }
        }
    }
    let _ = out_tx.send(spdy::goaway(last_id)).await;
    drop(out_tx);
    let _ = writer.await;
}

/// Carries one connection between its SPDY streams and a runtime port-forward session.
async fn relay(
    cri: Arc<dyn Cri>,
    sandbox: String,
    port: u16,
    data_id: u32,
    error_id: Option<u32>,
    mut from_client: mpsc::Receiver<Vec<u8>>,
    out: mpsc::Sender<Vec<u8>>,
) {
    let fail = |msg: String| {
        let out = out.clone();
        async move {
            if let Some(e) = error_id {
                let _ = out.send(spdy::data(e, true, msg.as_bytes())).await;
            }
            let _ = out.send(spdy::data(data_id, true, &[])).await;
        }
    };
    let url = match cri.port_forward(&sandbox, vec![i32::from(port)]).await {
        Ok(u) => u,
        Err(e) => return fail(format!("port-forward to port {port}: {e}")).await,
    };
    let url = match url.strip_prefix("http://") {
        Some(rest) => format!("ws://{rest}"),
        None => url,
    };
    let url = if url.contains('?') {
        url
    } else {
        format!("{url}?ports={port}")
    };
    let mut req = match url.as_str().into_client_request() {
        Ok(r) => r,
        Err(e) => return fail(format!("bad streaming URL: {e}")).await,
    };
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        http::HeaderValue::from_static("v2.portforward.k8s.io"),
    );
    let runtime = match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => ws,
        Err(e) => return fail(format!("streaming server: {e}")).await,
    };
    let (mut r_tx, mut r_rx) = runtime.split();
    let up = async {
        while let Some(bytes) = from_client.recv().await {
            let mut frame = Vec::with_capacity(bytes.len() + 1);
            frame.push(0u8);
            frame.extend_from_slice(&bytes);
            if r_tx.send(TMsg::Binary(frame.into())).await.is_err() {
                return;
            }
        }
        // The client finished sending; keep the session until the pod side ends.
        std::future::pending::<()>().await;
    };
    let down = async {
        let mut seen = [false, false];
        while let Some(Ok(msg)) = r_rx.next().await {
            let TMsg::Binary(b) = msg else {
                if matches!(msg, TMsg::Close(_)) {
                    break;
                }
                continue;
            };
            let Some((&ch, rest)) = b.split_first() else {
                continue;
            };
            let ch = usize::from(ch.min(1));
            // The first frame of each channel only names the port.
            if !seen[ch] {
                seen[ch] = true;
                continue;
            }
            let target = if ch == 0 { Some(data_id) } else { error_id };
            if let Some(id) = target {
                if !rest.is_empty() && out.send(spdy::data(id, false, rest)).await.is_err() {
                    break;
                }
            }
        }
    };
    tokio::select! {
        _ = down => {}
        _ = up => {}
    }
    if let Some(e) = error_id {
        let _ = out.send(spdy::data(e, true, &[])).await;
    }
    let _ = out.send(spdy::data(data_id, true, &[])).await;
}
