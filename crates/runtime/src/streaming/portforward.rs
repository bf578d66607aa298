//! Port-forward over WebSocket: per requested port a data channel (2i) and an error
//! channel (2i+1), each opened with a frame carrying the port (2 bytes, little
//! endian); TCP connections are made to 127.0.0.1:port inside the pod's netns.

use std::path::PathBuf;

use axum::extract::ws::{Message, WebSocket};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use super::channel::frame;

async fn connect(netns: PathBuf, port: u16) -> Result<tokio::net::TcpStream, String> {
    let std_stream = tokio::task::spawn_blocking(move || {
        crate::netns::run_in(&netns, move || {
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
pub async fn run(socket: WebSocket, netns: PathBuf, ports: Vec<u16>) {
    let (mut sink, mut stream) = socket.split();
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
        let err_ch = data_ch + 1;
        let _ = out_tx.send(frame(data_ch, &port.to_le_bytes())).await;
        let _ = out_tx.send(frame(err_ch, &port.to_le_bytes())).await;
        let (in_tx, mut in_rx) = mpsc::channel::<Vec<u8>>(64);
        inputs.push(Some(in_tx));
        let out = out_tx.clone();
        let ns = netns.clone();
        tasks.push(tokio::spawn(async move {
            let conn = match connect(ns, port).await {
                Ok(c) => c,
                Err(e) => {
                    let _ = out.send(frame(err_ch, e.as_bytes())).await;
                    return;
                }
            };
            let (mut rd, mut wr) = conn.into_split();
            let up = tokio::spawn(async move {
                while let Some(d) = in_rx.recv().await {
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
        }));
    }
    let done = futures::future::join_all(tasks);
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
    let _ = out_tx
        .send(Message::Close(Some(axum::extract::ws::CloseFrame {
            code: 1000,
            reason: "".into(),
        })))
        .await;
    drop(out_tx);
    let _ = writer.await;
}
