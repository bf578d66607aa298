//! A remote-command session over the channel WebSocket protocol (`v5.channel.k8s.io`):
//! stdin on channel 0, stdout 1, stderr 2, status 3, resize 4, close 255; raw TTY
//! with SIGWINCH resizes; the status decides the exit code.

use crate::client::WsStream;
use crate::ctx::CmdError;
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use std::io::{IsTerminal, Read, Write};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

/// How the local terminal takes part.
#[derive(Debug, Clone, Copy)]
pub struct Session {
    /// Send our stdin.
    pub stdin: bool,
    /// Raw TTY mode with resizes.
    pub tty: bool,
}

/// Puts the terminal in raw mode for the guard's lifetime.
struct RawGuard(bool);

impl RawGuard {
    fn new(on: bool) -> RawGuard {
        RawGuard(on && crossterm::terminal::enable_raw_mode().is_ok())
    }
}

impl Drop for RawGuard {
    fn drop(&mut self) {
        if self.0 {
            let _ = crossterm::terminal::disable_raw_mode();
        }
    }
}

fn resize_frame() -> Option<Message> {
    let (w, h) = crossterm::terminal::size().ok()?;
    let mut b = vec![4u8];
    b.extend_from_slice(format!("{{\"Width\":{w},\"Height\":{h}}}").as_bytes());
    Some(Message::Binary(b.into()))
}

/// Whether our stdin is a terminal (kubectl drops `-t` otherwise).
pub fn stdin_is_terminal() -> bool {
    std::io::stdin().is_terminal()
}

/// The outcome carried on channel 3.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Success (or the stream ended without a status).
    Ok,
    /// The command exited with this code.
    Exit(i32),
    /// Another failure: reason and message.
    Failed(String, String),
}

/// Decodes a channel-3 status document.
pub fn parse_status(data: &[u8]) -> Outcome {
    let Ok(st) = serde_json::from_slice::<Value>(data) else {
        let text = String::from_utf8_lossy(data).trim().to_string();
        return if text.is_empty() {
            Outcome::Ok
        } else {
            Outcome::Failed(String::new(), text)
        };
    };
    if st.get("status").and_then(Value::as_str) == Some("Success") {
        return Outcome::Ok;
    }
    let reason = st.get("reason").and_then(Value::as_str).unwrap_or("");
    if reason == "NonZeroExitCode" {
        let code = st
            .pointer("/details/causes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|c| c.get("reason").and_then(Value::as_str) == Some("ExitCode"))
            .and_then(|c| c.get("message").and_then(Value::as_str))
            .and_then(|m| m.parse().ok());
        if let Some(code) = code {
            return Outcome::Exit(code);
        }
    }
    Outcome::Failed(
        reason.to_string(),
        st.get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
    )
}

/// Runs the session until the server closes; returns the outcome.
pub async fn run(ws: WsStream, proto: &str, s: Session) -> Result<Outcome, CmdError> {
    let (sink, stream) = ws.split();
    let (tx, rx) = mpsc::channel::<Message>(16);
    let v5 = proto == "v5.channel.k8s.io";
    let raw = RawGuard::new(s.tty && s.stdin);
    if s.tty {
        if let Some(m) = resize_frame() {
            let _ = tx.send(m).await;
        }
        send_resizes(tx.clone());
    }
    if s.stdin {
        send_stdin(tx.clone(), v5);
    }
    drop(tx);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let writer = tokio::spawn(write_frames(sink, rx, stop_rx));
    let outcome = print_output(stream).await;
    drop(raw);
    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), writer).await;
    Ok(outcome)
}

/// Sends a resize frame on every SIGWINCH until the session's writer is gone.
fn send_resizes(tx: mpsc::Sender<Message>) {
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut sig) = signal(SignalKind::window_change()) else {
            return;
        };
        while sig.recv().await.is_some() {
            if let Some(m) = resize_frame() {
                if tx.send(m).await.is_err() {
                    break;
                }
            }
        }
    });
}

/// Reads our stdin on a thread (it blocks) and sends it on channel 0; at its end, v5
/// closes the stdin channel.
fn send_stdin(tx: mpsc::Sender<Message>, v5: bool) {
    std::thread::spawn(move || {
        let mut input = std::io::stdin();
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match input.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let mut b = Vec::with_capacity(n + 1);
                    b.push(0u8);
                    b.extend_from_slice(&buf[..n]);
                    if tx.blocking_send(Message::Binary(b.into())).is_err() {
                        return;
                    }
                }
            }
        }
        if v5 {
            // close our half of stdin
            let _ = tx.blocking_send(Message::Binary(vec![255u8, 0].into()));
        }
    });
}

/// Writes queued frames to the socket until the senders are gone and the session
/// ends (or it is told to stop), then closes it with 1000.
async fn write_frames(
    mut sink: SplitSink<WsStream, Message>,
    mut rx: mpsc::Receiver<Message>,
    mut stop_rx: tokio::sync::oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            m = rx.recv() => match m {
                Some(m) => {
                    if sink.send(m).await.is_err() {
                        return;
                    }
                }
                None => {
                    // nothing more to send: wait for the session to end
                    let _ = (&mut stop_rx).await;
                    break;
                }
            },
            _ = &mut stop_rx => break,
        }
    }
    // kubectl closes with 1000; a close without a code reads as an error upstream
    let _ = sink
        .send(Message::Close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        })))
        .await;
}

/// Copies channels 1 and 2 to our stdout and stderr until the server closes; the last
/// status on channel 3 is the outcome.
async fn print_output(mut stream: SplitStream<WsStream>) -> Outcome {
    let mut outcome = Outcome::Ok;
    while let Some(msg) = stream.next().await {
        let Ok(msg) = msg else { break };
        match msg {
            Message::Binary(data) if !data.is_empty() => {
                let body = &data[1..];
                match data[0] {
                    1 => {
                        let mut o = std::io::stdout().lock();
                        let _ = o.write_all(body);
                        let _ = o.flush();
                    }
                    2 => {
                        let mut e = std::io::stderr().lock();
                        let _ = e.write_all(body);
                        let _ = e.flush();
                    }
                    3 if !body.is_empty() => outcome = parse_status(body),
                    _ => {}
                }
            }
            Message::Close(_) => break,
            _ => {}
        }
    }
    outcome
}

/// Runs a non-interactive session: sends `input` as stdin (then closes it), collects
/// stdout and stderr.
pub async fn capture(
    ws: WsStream,
    input: Option<Vec<u8>>,
) -> Result<(Vec<u8>, Vec<u8>, Outcome), CmdError> {
    let (mut sink, mut stream) = ws.split();
    let sender = tokio::spawn(async move {
        if let Some(data) = input {
            for chunk in data.chunks(32 * 1024) {
                let mut b = Vec::with_capacity(chunk.len() + 1);
                b.push(0u8);
                b.extend_from_slice(chunk);
                if sink.send(Message::Binary(b.into())).await.is_err() {
                    return sink;
                }
            }
            let _ = sink.send(Message::Binary(vec![255u8, 0].into())).await;
        }
        sink
    });
    let (mut out, mut errb, mut outcome) = (Vec::new(), Vec::new(), Outcome::Ok);
    while let Some(Ok(msg)) = stream.next().await {
        match msg {
            Message::Binary(d) if !d.is_empty() => match d[0] {
                1 => out.extend_from_slice(&d[1..]),
                2 => errb.extend_from_slice(&d[1..]),
                3 if d.len() > 1 => outcome = parse_status(&d[1..]),
                _ => {}
            },
            Message::Close(_) => break,
            _ => {}
        }
    }
    if let Ok(mut sink) = sender.await {
        let _ = sink
            .send(Message::Close(Some(CloseFrame {
                code: CloseCode::Normal,
                reason: "".into(),
            })))
            .await;
    }
    Ok((out, errb, outcome))
}

/// Maps an outcome to kubectl's exit behaviour.
pub fn finish(o: Outcome) -> Result<(), CmdError> {
    match o {
        Outcome::Ok => Ok(()),
        Outcome::Exit(code) => {
            crate::ctx::err(&format!("command terminated with exit code {code}\n"));
            Err(CmdError::Exit(code))
        }
        Outcome::Failed(reason, msg) => Err(crate::client::ApiError::Status {
            code: 500,
            reason,
            message: msg,
        }
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(
            parse_status(br#"{"metadata":{},"status":"Success"}"#),
            Outcome::Ok
        );
        assert_eq!(
            parse_status(br#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#),
            Outcome::Exit(3)
        );
        assert_eq!(
            parse_status(br#"{"status":"Failure","reason":"InternalError","message":"boom"}"#),
            Outcome::Failed("InternalError".into(), "boom".into())
        );
    }
}
