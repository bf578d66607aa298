//! exec, attach and port-forward: ask CRI for a streaming URL, accept the
//! client's WebSocket with the same subprotocol, connect to the runtime's
//! streaming server and relay frames both ways; close with code 1000.

use axum::extract::ws::{CloseFrame, Message as AxMsg, WebSocket};
use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame as TCloseFrame;
use tokio_tungstenite::tungstenite::Message as TMsg;

/// Subprotocols offered for exec and attach, most preferred first.
pub const CHANNEL_PROTOCOLS: [&str; 5] = [
    "v5.channel.k8s.io",
    "v4.channel.k8s.io",
    "v3.channel.k8s.io",
    "v2.channel.k8s.io",
    "channel.k8s.io",
];

/// Subprotocols for port-forward.
pub const PORTFORWARD_PROTOCOLS: [&str; 2] = ["v2.portforward.k8s.io", "portforward.k8s.io"];

fn to_runtime(m: AxMsg) -> Option<TMsg> {
    Some(match m {
        AxMsg::Text(t) => TMsg::Text(t.as_str().into()),
        AxMsg::Binary(b) => TMsg::Binary(b),
        AxMsg::Ping(b) => TMsg::Ping(b),
        AxMsg::Pong(b) => TMsg::Pong(b),
        AxMsg::Close(_) => return None,
    })
}

fn to_client(m: TMsg) -> Option<AxMsg> {
    Some(match m {
        TMsg::Text(t) => AxMsg::Text(t.as_str().into()),
        TMsg::Binary(b) => AxMsg::Binary(b),
        TMsg::Ping(b) => AxMsg::Ping(b),
        TMsg::Pong(b) => AxMsg::Pong(b),
        TMsg::Close(_) | TMsg::Frame(_) => return None,
    })
}

/// Relay between the client socket and the runtime's streaming URL.
pub async fn relay(client: WebSocket, url: String, protocol: Option<String>) {
    // runtimes hand out http:// URLs (containerd does); the upgrade needs ws://
    let url = match url.strip_prefix("http://") {
        Some(rest) => format!("ws://{rest}"),
        None => url,
    };
    let mut req = match url.as_str().into_client_request() {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, %url, "bad streaming URL");
            return close_client(client).await;
        }
    };
    if let Some(p) = &protocol {
        if let Ok(v) = p.parse() {
            req.headers_mut().insert("Sec-WebSocket-Protocol", v);
        }
    }
    let runtime = match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => ws,
        Err(e) => {
            tracing::warn!(error = %e, %url, "cannot reach the runtime streaming server");
            return close_client(client).await;
        }
    };
    let (mut c_tx, mut c_rx) = client.split();
    let (mut r_tx, mut r_rx) = runtime.split();
    let up = async {
        while let Some(Ok(m)) = c_rx.next().await {
            match to_runtime(m) {
                Some(m) => {
                    if r_tx.send(m).await.is_err() {
                        break;
                    }
                }
                None => break,
            }
        }
        let _ = r_tx
            .send(TMsg::Close(Some(TCloseFrame {
                code: CloseCode::Normal,
                reason: "".into(),
            })))
            .await;
    };
    let down = async {
        while let Some(Ok(m)) = r_rx.next().await {
            match to_client(m) {
                Some(m) => {
                    if c_tx.send(m).await.is_err() {
                        break;
                    }
                }
                None => break,
            }
        }
        let _ = c_tx
            .send(AxMsg::Close(Some(CloseFrame {
                code: 1000,
                reason: "".into(),
            })))
            .await;
    };
    // the runtime closing ends the session; the client closing ends it too
    tokio::select! {
        _ = down => {}
        _ = up => {}
    }
}

async fn close_client(mut client: WebSocket) {
    let _ = client
        .send(AxMsg::Close(Some(CloseFrame {
            code: 1011,
            reason: "streaming server unavailable".into(),
        })))
        .await;
}
