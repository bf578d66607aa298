//! An attach session over WebSocket: connects to the container monitor's attach
//! socket, relays the container's output to the client and the client's stdin,
//! stdin close and terminal resizes to the monitor; ends with a Success status
//! when the container's output ends (it exited) or the client goes away.

use std::path::PathBuf;

use axum::extract::ws::WebSocket;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use super::channel::{self, frame};
use super::exec::{split, Input, Io};
use crate::attach::{self, Decoder};

/// A prepared attach.
pub(crate) struct AttachSession {
    /// The monitor's attach socket.
    pub(crate) socket: PathBuf,
    /// Forward the client's stdin.
    pub(crate) stdin: bool,
    /// Send the container's stdout.
    pub(crate) stdout: bool,
    /// Send the container's stderr.
    pub(crate) stderr: bool,
}

impl AttachSession {
    /// Serve the socket until the container's output ends or the client leaves.
    pub(crate) async fn run(self, socket: WebSocket) {
        let mut io = split(socket);
        let text = match self.relay(&mut io).await {
            Ok(()) => channel::exit_status(0),
            Err(e) => channel::error_status(&e),
        };
        io.finish(text).await;
    }

    async fn relay(&self, io: &mut Io) -> Result<(), String> {
        let conn = UnixStream::connect(&self.socket)
            .await
            .map_err(|e| format!("attaching to the container: {e}"))?;
        let (mut rd, mut wr) = conn.into_split();
        let out = io.out.clone();
        let (want_out, want_err) = (self.stdout, self.stderr);
        let output = async move {
            let mut dec = Decoder::default();
            let mut buf = vec![0u8; 32 * 1024];
            loop {
                let n = match rd.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                dec.push(&buf[..n]);
                while let Ok(Some((kind, data))) = dec.next_frame() {
                    let ch = match kind {
                        attach::STDOUT if want_out => channel::STDOUT,
                        attach::STDERR if want_err => channel::STDERR,
                        _ => continue,
                    };
                    if out.send(frame(ch, &data)).await.is_err() {
                        return;
                    }
                }
            }
        };
        let stdin = self.stdin;
        let input = &mut io.input;
        let feed = async move {
            while let Some(i) = input.recv().await {
                let msg = match i {
                    Input::Stdin(d) if stdin => attach::encode(attach::STDIN, &d),
                    Input::CloseStdin if stdin => attach::encode(attach::CLOSE_STDIN, &[]),
                    Input::Resize(w, h) => attach::resize(w, h),
                    _ => continue,
                };
                if wr.write_all(&msg).await.is_err() {
                    return;
                }
            }
            // The client went away: that ends its stdin too (matters for stdin_once).
            if stdin {
                let _ = wr
                    .write_all(&attach::encode(attach::CLOSE_STDIN, &[]))
                    .await;
            }
        };
        tokio::select! {
            _ = output => {}
            _ = feed => {}
        }
        Ok(())
    }
}
