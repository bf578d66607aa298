//! Port-forward for kubectl ≥ 1.31, which tunnels SPDY/3.1 through a WebSocket
//! (`SPDY/3.1+portforward.k8s.io`): each forwarded connection is a pair of SPDY streams
//! (error, data) sharing a `requestID`; each pair is relayed to the pod through its own
//! runtime port-forward session (`v2.portforward.k8s.io`, channel 0 data, 1 error).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket};
use futures::stream::{SplitSink, SplitStream};
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

/// Writes queued frames to the client, then closes the socket with code 1000.
async fn write_out(mut sink: SplitSink<WebSocket, Message>, mut out: mpsc::Receiver<Vec<u8>>) {
    while let Some(bytes) = out.recv().await {
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
}

/// One session: the SPDY decoder and the forwarded connections by request and stream.
struct Session {
    cri: Arc<dyn Cri>,
    sandbox: String,
    codec: Codec,
    pairs: HashMap<String, Pair>,
    by_stream: HashMap<u32, String>,
    last_id: u32,
    out: mpsc::Sender<Vec<u8>>,
}

impl Session {
    /// Reads client messages until the client or a GOAWAY ends the session.
    async fn run(&mut self, mut stream: SplitStream<WebSocket>) {
        while let Some(Ok(msg)) = stream.next().await {
            match msg {
                Message::Binary(b) => self.codec.push(&b),
                Message::Close(_) => break,
                _ => continue,
            }
            loop {
                match self.codec.next_frame() {
                    Ok(Some(frame)) => {
                        if !self.on_frame(frame).await {
                            return;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "port-forward: bad SPDY frame");
                        return;
                    }
                }
            }
        }
    }

    /// Handles one frame; false when the client said GOAWAY.
    async fn on_frame(&mut self, frame: Frame) -> bool {
        match frame {
            Frame::SynStream { id, headers } => self.open_stream(id, &headers).await,
            Frame::Data { id, fin, data } => self.data(id, fin, data).await,
            Frame::Reset(id) => {
                if let Some(request) = self.by_stream.remove(&id) {
                    if let Some(pair) = self.pairs.get_mut(&request) {
                        if pair.data == Some(id) {
                            pair.to_pod = None;
                        }
                    }
                }
            }
            Frame::Ping(id) => {
                let _ = self.out.send(spdy::ping(id)).await;
            }
            Frame::GoAway => return false,
            Frame::Other => {}
        }
        true
    }

    /// A new stream: the error or data half of a forwarded connection. The data half
    /// starts the relay to the pod.
    async fn open_stream(&mut self, id: u32, headers: &[(String, String)]) {
        self.last_id = self.last_id.max(id);
        let _ = self.out.send(self.codec.syn_reply(id)).await;
        let request = header(headers, "requestid").to_string();
        let pair = self.pairs.entry(request.clone()).or_default();
        pair.port = header(headers, "port").parse().unwrap_or(pair.port);
        self.by_stream.insert(id, request);
        match header(headers, "streamtype") {
            "error" => pair.error = Some(id),
            "data" => {
                pair.data = Some(id);
                let (tx, rx) = mpsc::channel(64);
                pair.to_pod = Some(tx);
                let streams = Streams {
                    data: id,
                    error: pair.error,
                    out: self.out.clone(),
                };
                let (cri, sandbox) = (self.cri.clone(), self.sandbox.clone());
                tokio::spawn(relay(cri, sandbox, pair.port, streams, rx));
            }
            other => tracing::debug!(stream = other, "port-forward: unknown stream type"),
        }
    }

    /// Client bytes on a data stream go to the pod (and open the client's window again).
    async fn data(&mut self, id: u32, fin: bool, data: Vec<u8>) {
        let Some(pair) = self.by_stream.get(&id).and_then(|r| self.pairs.get_mut(r)) else {
            return;
        };
        if pair.data != Some(id) {
            return;
        }
        if !data.is_empty() {
            let _ = self
                .out
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

/// Serves one tunnelled SPDY port-forward session for the pod sandbox `sandbox`.
pub async fn serve(socket: WebSocket, cri: Arc<dyn Cri>, sandbox: String) {
    let (sink, stream) = socket.split();
    let (out, out_rx) = mpsc::channel::<Vec<u8>>(64);
    let writer = tokio::spawn(write_out(sink, out_rx));
    let mut session = Session {
        cri,
        sandbox,
        codec: Codec::default(),
        pairs: HashMap::new(),
        by_stream: HashMap::new(),
        last_id: 0,
        out,
    };
    session.run(stream).await;
    let _ = session.out.send(spdy::goaway(session.last_id)).await;
    drop(session);
    let _ = writer.await;
}

/// The SPDY streams of one forwarded connection and the queue to the client.
struct Streams {
    data: u32,
    error: Option<u32>,
    out: mpsc::Sender<Vec<u8>>,
}

impl Streams {
    /// Reports `msg` on the error stream and closes both.
    async fn fail(&self, msg: String) {
        if let Some(e) = self.error {
            let _ = self.out.send(spdy::data(e, true, msg.as_bytes())).await;
        }
        let _ = self.out.send(spdy::data(self.data, true, &[])).await;
    }

    /// Closes both streams.
    async fn close(&self) {
        if let Some(e) = self.error {
            let _ = self.out.send(spdy::data(e, true, &[])).await;
        }
        let _ = self.out.send(spdy::data(self.data, true, &[])).await;
    }
}

type RuntimeSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A runtime port-forward session (`v2.portforward.k8s.io`) to `port` of the sandbox.
async fn connect_runtime(cri: &dyn Cri, sandbox: &str, port: u16) -> Result<RuntimeSocket, String> {
    let url = cri
        .port_forward(sandbox, vec![i32::from(port)])
        .await
        .map_err(|e| format!("port-forward to port {port}: {e}"))?;
    let url = match url.strip_prefix("http://") {
        Some(rest) => format!("ws://{rest}"),
        None => url,
    };
    let url = if url.contains('?') {
        url
    } else {
        format!("{url}?ports={port}")
    };
    let mut req = url
        .as_str()
        .into_client_request()
        .map_err(|e| format!("bad streaming URL: {e}"))?;
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        http::HeaderValue::from_static("v2.portforward.k8s.io"),
    );
    let (ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .map_err(|e| format!("streaming server: {e}"))?;
    Ok(ws)
}

/// Carries one connection between its SPDY streams and a runtime port-forward session.
async fn relay(
    cri: Arc<dyn Cri>,
    sandbox: String,
    port: u16,
    streams: Streams,
    mut from_client: mpsc::Receiver<Vec<u8>>,
) {
    let runtime = match connect_runtime(cri.as_ref(), &sandbox, port).await {
        Ok(ws) => ws,
        Err(msg) => return streams.fail(msg).await,
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
            let target = if ch == 0 {
                Some(streams.data)
            } else {
                streams.error
            };
            if let Some(id) = target {
                if !rest.is_empty() && streams.out.send(spdy::data(id, false, rest)).await.is_err()
                {
                    break;
                }
            }
        }
    };
    tokio::select! {
        _ = down => {}
        _ = up => {}
    }
    streams.close().await;
}
