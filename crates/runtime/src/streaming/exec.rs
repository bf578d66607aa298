//! An exec session over WebSocket: `runc exec` with pipes, or for a TTY a detached
//! `runc exec -t` under the exec-wait helper with the pty master received over a
//! console socket; relays channel frames and ends with the exit status.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use super::channel::{self, frame};
use crate::oci::{ExecOptions, OciRuntime};

/// A prepared exec.
pub(crate) struct ExecSession {
    pub(crate) oci: Arc<dyn OciRuntime>,
    pub(crate) helper_exe: PathBuf,
    pub(crate) scratch: PathBuf,
    pub(crate) container_id: String,
    pub(crate) cmd: Vec<String>,
    pub(crate) tty: bool,
    pub(crate) stdin: bool,
}

#[derive(serde::Deserialize)]
struct Resize {
    #[serde(rename = "Width")]
    width: u16,
    #[serde(rename = "Height")]
    height: u16,
}

/// What a client sent.
pub(super) enum Input {
    /// Bytes for stdin.
    Stdin(Vec<u8>),
    /// The client closed stdin (v5).
    CloseStdin,
    /// Terminal size (width, height).
    Resize(u16, u16),
}

/// The two halves of a channel-protocol socket: frames to send, inputs received.
pub(super) struct Io {
    pub(super) out: mpsc::Sender<Message>,
    pub(super) input: mpsc::Receiver<Input>,
    writer: tokio::task::JoinHandle<()>,
    reader: tokio::task::JoinHandle<()>,
}

/// Split `socket` into a frame sender and a decoded input receiver.
pub(super) fn split(socket: WebSocket) -> Io {
    let (mut sink, mut stream) = socket.split();
    let (out_tx, mut out_rx) = mpsc::channel::<Message>(64);
    let (in_tx, in_rx) = mpsc::channel::<Input>(64);
    let writer = tokio::spawn(async move {
        while let Some(m) = out_rx.recv().await {
            let close = matches!(m, Message::Close(_));
            if sink.send(m).await.is_err() || close {
                break;
            }
        }
    });
    let reader = tokio::spawn(async move {
        while let Some(Ok(msg)) = stream.next().await {
            let data = match msg {
                Message::Binary(b) => b.to_vec(),
                Message::Close(_) => break,
                _ => continue,
            };
            let Some((&ch, rest)) = data.split_first() else {
                continue;
            };
            let input = match ch {
                channel::STDIN => Input::Stdin(rest.to_vec()),
                channel::RESIZE => match serde_json::from_slice::<Resize>(rest) {
                    Ok(r) => Input::Resize(r.width, r.height),
                    Err(_) => continue,
                },
                channel::CLOSE if rest.first() == Some(&channel::STDIN) => Input::CloseStdin,
                _ => continue,
            };
            if in_tx.send(input).await.is_err() {
                break;
            }
        }
    });
    Io {
        out: out_tx,
        input: in_rx,
        writer,
        reader,
    }
}

impl Io {
    /// Send the final status on the error channel and close with code 1000.
    pub(super) async fn finish(self, status: String) {
        let _ = self
            .out
            .send(frame(channel::ERROR, status.as_bytes()))
            .await;
        let _ = self
            .out
            .send(Message::Close(Some(axum::extract::ws::CloseFrame {
                code: 1000,
                reason: "".into(),
            })))
            .await;
        drop(self.out);
        let _ = self.writer.await;
        self.reader.abort();
    }
}

impl ExecSession {
    /// Serve the socket until the command ends.
    pub(crate) async fn run(self, socket: WebSocket) {
        let mut io = split(socket);
        let input = std::mem::replace(&mut io.input, mpsc::channel(1).1);
        let status = if self.tty {
            self.run_tty(io.out.clone(), input).await
        } else {
            self.run_pipes(io.out.clone(), input).await
        };
        let text = match status {
            Ok(code) => channel::exit_status(code),
            Err(e) => channel::error_status(&e),
        };
        io.finish(text).await;
    }

    async fn run_pipes(
        &self,
        out: mpsc::Sender<Message>,
        mut input: mpsc::Receiver<Input>,
    ) -> Result<i32, String> {
        let mut cmd = tokio::process::Command::from(self.oci.exec(
            &self.container_id,
            &self.cmd,
            &ExecOptions::default(),
        ));
        cmd.stdin(if self.stdin {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| format!("starting exec: {e}"))?;
        let mut stdin = child.stdin.take();
        let pumps = [
            child
                .stdout
                .take()
                .map(|s| tokio::spawn(pump(s, channel::STDOUT, out.clone()))),
            child
                .stderr
                .take()
                .map(|s| tokio::spawn(pump(s, channel::STDERR, out.clone()))),
        ];
        let feeder = tokio::spawn(async move {
            while let Some(i) = input.recv().await {
                match i {
                    Input::Stdin(d) => {
                        if let Some(s) = stdin.as_mut() {
                            if s.write_all(&d).await.is_err() {
                                stdin = None;
                            }
                        }
                    }
                    Input::CloseStdin => stdin = None,
                    Input::Resize(..) => {}
                }
            }
        });
        let status = child.wait().await.map_err(|e| e.to_string())?;
        for p in pumps.into_iter().flatten() {
            let _ = p.await;
        }
        feeder.abort();
        Ok(exit_code(status))
    }

    async fn run_tty(
        &self,
        out: mpsc::Sender<Message>,
        input: mpsc::Receiver<Input>,
    ) -> Result<i32, String> {
        let (mut child, master) = self.start_tty_exec().await?;
        let writer = master.try_clone().map_err(|e| e.to_string())?;
        let resize_fd = master.try_clone().map_err(|e| e.to_string())?;
        let reader = std::thread::spawn(move || relay_terminal_output(master, out));
        let stdin = spawn_terminal_writer(writer);
        let stdin_wanted = self.stdin;
        let feeder = tokio::spawn(feed_terminal(
            input,
            stdin_wanted.then_some(stdin),
            resize_fd,
        ));
        let status = child.wait().await.map_err(|e| e.to_string())?;
        feeder.abort();
        let _ = tokio::task::spawn_blocking(move || reader.join()).await;
        Ok(status.code().unwrap_or(255))
    }

    /// Start a detached TTY exec under the exec-wait helper (whose exit code is the exec'd
    /// process's); the pty master arrives on a console socket.
    async fn start_tty_exec(&self) -> Result<(tokio::process::Child, std::fs::File), String> {
        let token = &crate::state::new_id()[..16];
        let sock_path = self.scratch.join(format!("{token}.sock"));
        let pid_file = self.scratch.join(format!("{token}.pid"));
        let listener = std::os::unix::net::UnixListener::bind(&sock_path)
            .map_err(|e| format!("console socket: {e}"))?;
        let argv = serde_json::to_string(&self.cmd).map_err(|e| e.to_string())?;
        let mut child = tokio::process::Command::new(&self.helper_exe)
            .arg("runtime-helper")
            .arg("exec-wait")
            .arg("--id")
            .arg(&self.container_id)
            .arg("--argv")
            .arg(argv)
            .arg("--console-socket")
            .arg(&sock_path)
            .arg("--pid-file")
            .arg(&pid_file)
            .args(self.oci.helper_args_for(&self.container_id))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("starting exec helper: {e}"))?;
        let recv = tokio::task::spawn_blocking(move || crate::sys::fd::receive_fd(&listener));
        let master = tokio::select! {
            r = recv => r.map_err(|e| e.to_string())?.map_err(|e| format!("receiving pty: {e}")),
            status = child.wait() => {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() { let _ = e.read_to_string(&mut err).await; }
                Err(format!("exec failed ({:?}): {}", status.ok().and_then(|s| s.code()), err.trim()))
            }
        };
        let _ = std::fs::remove_file(&sock_path);
        Ok((child, std::fs::File::from(master?)))
    }
}

/// Send what the terminal prints as stdout frames until it closes (a blocking thread).
fn relay_terminal_output(mut master: std::fs::File, out: mpsc::Sender<Message>) {
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match master.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if out
                    .blocking_send(frame(channel::STDOUT, &buf[..n]))
                    .is_err()
                {
                    break;
                }
            }
        }
    }
}

/// A thread writing what the returned channel receives to the terminal.
fn spawn_terminal_writer(mut writer: std::fs::File) -> std::sync::mpsc::Sender<Vec<u8>> {
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        while let Ok(d) = rx.recv() {
            if writer.write_all(&d).is_err() {
                break;
            }
        }
    });
    tx
}

/// Pass the client's stdin (when wanted) and resizes to the terminal.
async fn feed_terminal(
    mut input: mpsc::Receiver<Input>,
    stdin: Option<std::sync::mpsc::Sender<Vec<u8>>>,
    resize_fd: std::fs::File,
) {
    while let Some(i) = input.recv().await {
        match i {
            Input::Stdin(d) => {
                if let Some(tx) = &stdin {
                    let _ = tx.send(d);
                }
            }
            Input::Resize(w, h) => {
                let _ = crate::sys::fd::set_winsize(&resize_fd, w, h);
            }
            Input::CloseStdin => {}
        }
    }
}

async fn pump(mut src: impl AsyncRead + Unpin, ch: u8, out: mpsc::Sender<Message>) {
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match src.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if out.send(frame(ch, &buf[..n])).await.is_err() {
                    break;
                }
            }
        }
    }
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(255)
}
