//! Port-forward over WebSocket: per requested port a data channel (2i) and an error
//! channel (2i+1), each opened with a frame carrying the port (2 bytes, little
//! endian); TCP connections are made to 127.0.0.1:port inside the pod's netns.

use std::path::PathBuf;

use axum::extract::ws::{Message, WebSocket};
use futures::stream::SplitStream;
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use super::channel::frame;

async fn connect(netns: PathBuf, port: u16) -> Result<tokio::net::TcpStream, String> {
    let std_stream = tokio::task::spawn_blocking(move || {
        crate::sys::ns::run_in_netns(&netns, move || {
            std::net::TcpStream::connect(("127.0.0.1", port))
        })
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("connecting to 127.0.0.1:{port} in the pod: {e}"))?;
    std_stream
        .set_nonblocking(true)
        .map_err(|e| e.to_string())?;
    tokio::net::TcpStream::from_std(std_stream).map_err(|e| e.to_string())
}

/// Serve one port-forward socket.
pub(super) async fn run(socket: WebSocket, netns: PathBuf, ports: Vec<u16>) {
    let (mut sink, stream) = socket.split();
    let (out_tx, mut out_rx) = mpsc::channel::<Message>(64);
    let writer = tokio::spawn(async move {
        while let Some(m) = out_rx.recv().await {
            let close = matches!(m, Message::Close(_));
            if sink.send(m).await.is_err() || close {
                break;
            }
        }
    });
    let mut inputs: Vec<Option<mpsc::Sender<Vec<u8>>>> = Vec::new();
    let mut tasks = Vec::new();
    for (i, port) in ports.iter().copied().enumerate() {
        let data_ch = (2 * i) as u8;
        let _ = out_tx.send(frame(data_ch, &port.to_le_bytes())).await;
        let _ = out_tx.send(frame(data_ch + 1, &port.to_le_bytes())).await;
        let (in_tx, in_rx) = mpsc::channel::<Vec<u8>>(64);
        inputs.push(Some(in_tx));
        let forward = forward_port(netns.clone(), port, data_ch, in_rx, out_tx.clone());
        tasks.push(tokio::spawn(forward));
    }
    relay_client(stream, futures::future::join_all(tasks), inputs).await;
    let _ = out_tx
        .send(Message::Close(Some(axum::extract::ws::CloseFrame {
            code: 1000,
            reason: "".into(),
        })))
        .await;
    drop(out_tx);
    let _ = writer.await;
}

/// Forward one port: connect in the pod, then copy `input` to the connection and the
/// connection to data frames on `data_ch` (a failure goes to the error channel after it).
async fn forward_port(
    netns: PathBuf,
    port: u16,
    data_ch: u8,
    mut input: mpsc::Receiver<Vec<u8>>,
    out: mpsc::Sender<Message>,
) {
    let conn = match connect(netns, port).await {
        Ok(c) => c,
        Err(e) => {
            let _ = out.send(frame(data_ch + 1, e.as_bytes())).await;
            return;
        }
    };
    let (mut rd, mut wr) = conn.into_split();
    let up = tokio::spawn(async move {
        while let Some(d) = input.recv().await {
            if wr.write_all(&d).await.is_err() {
                break;
            }
        }
        let _ = wr.shutdown().await;
    });
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match rd.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if out.send(frame(data_ch, &buf[..n])).await.is_err() {
                    break;
                }
            }
        }
    }
    up.abort();
}

/// Route the client's data frames to their ports' inputs until every forward is `done`
/// or the client leaves.
async fn relay_client(
    mut stream: SplitStream<WebSocket>,
    done: impl std::future::Future,
    mut inputs: Vec<Option<mpsc::Sender<Vec<u8>>>>,
) {
    tokio::pin!(done);
    loop {
        tokio::select! {
            _ = &mut done => break,
            msg = stream.next() => {
                let data = match msg {
                    Some(Ok(Message::Binary(b))) => b.to_vec(),
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => continue,
                };
                let Some((&ch, rest)) = data.split_first() else { continue };
                let idx = (ch / 2) as usize;
                if ch % 2 == 0 {
                    if let Some(Some(tx)) = inputs.get(idx) {
                        if tx.send(rest.to_vec()).await.is_err() {
                            inputs[idx] = None;
                        }
                    }
                }
            }
        }
    }
}
