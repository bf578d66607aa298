//! The monitor's single-threaded event loop: one `poll(2)` over the container's
//! output (pipes or pty master), its stdin, the attach socket and its clients and
//! a signalfd (SIGCHLD reaps, SIGUSR1 reopens the log). Output goes to the CRI
//! log and to every attached client; attached clients feed stdin and resizes.
//! Once the loop has been idle for a while it gives back memory (see `trim`).

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::{Duration, Instant};

use super::trim::Trimmer;
use crate::attach::{self, Decoder};
use crate::logs::{LineBuffer, LogWriter};
use crate::sys::fd::{self, PollFd};
use crate::sys::process::{self, SignalFd};
use crate::sys::Signal;

/// Bytes buffered for a slow attach client before it is dropped.
const MAX_PENDING: usize = 4 << 20;
/// How long output may keep flowing after the container's init exited.
const DRAIN: Duration = Duration::from_secs(2);
/// Idle time after which the monitor trims its memory the first time (right after
/// setup) and again after later activity.
const TRIM_FIRST_MS: i32 = 100;
const TRIM_AGAIN_MS: i32 = 1000;

/// One output of the container.
pub(crate) struct Source {
    pub(crate) file: File,
    pub(crate) stream: &'static str,
    pub(crate) kind: u8,
    pub(crate) lines: LineBuffer,
}

struct Client {
    conn: UnixStream,
    decoder: Decoder,
    pending: Vec<u8>,
}

/// Everything the loop watches.
pub(crate) struct Mux {
    pub(crate) signals: SignalFd,
    pub(crate) sources: Vec<Source>,
    pub(crate) log: LogWriter,
    pub(crate) listener: Option<UnixListener>,
    pub(crate) stdin: Option<File>,
    pub(crate) stdin_once: bool,
    /// The pty master, for resizes.
    pub(crate) terminal: Option<OwnedFd>,
    pub(crate) init: i32,
    clients: Vec<Client>,
    stdin_pending: Vec<u8>,
    trimmer: Trimmer,
}

enum Slot {
    Signals,
    Source(usize),
    Listener,
    Client(usize),
    Stdin,
}

impl Mux {
    pub(crate) fn new(signals: SignalFd, log: LogWriter, init: i32) -> Self {
        Mux {
            signals,
            sources: Vec::new(),
            log,
            listener: None,
            stdin: None,
            stdin_once: false,
            terminal: None,
            init,
            clients: Vec::new(),
            stdin_pending: Vec::new(),
            trimmer: Trimmer::default(),
        }
    }

    /// Run until the init process exited and its output drained; returns its exit code.
    pub(crate) fn run(mut self) -> i32 {
        let mut exit: Option<i32> = None;
        let mut deadline: Option<Instant> = None;
        let mut buf = vec![0u8; 32 * 1024];
        // Idle time (ms) after which to trim; None once trimmed and still idle.
        let mut trim_after = Some(TRIM_FIRST_MS);
        loop {
            if exit.is_some()
                && (self.sources.is_empty() || deadline.is_some_and(|d| Instant::now() >= d))
            {
                break;
            }
            let (mut fds, slots) = self.poll_set();
            let timeout = deadline
                .map(|d| d.saturating_duration_since(Instant::now()).as_millis() as i32 + 1)
                .unwrap_or(-1);
            // While draining after the exit there is no idling to trim for.
            let trim = trim_after.filter(|_| deadline.is_none());
            let mut polled = fd::poll(&mut fds, trim.unwrap_or(timeout));
            if trim.is_some() && matches!(polled, Ok(0)) {
                polled = self.trimmer.trim_and_poll(&mut buf, &mut fds, timeout);
                trim_after = None;
            }
            match polled {
                Ok(0) => continue,
                Ok(_) => trim_after = Some(TRIM_AGAIN_MS),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
            if let Some(code) = self.dispatch(&fds, slots, &mut buf) {
                exit = Some(code);
                deadline = Some(Instant::now() + DRAIN);
            }
        }
        self.finish();
        exit.unwrap_or(255)
    }

    /// What to poll: the signalfd, the outputs, the attach socket and its clients, and
    /// stdin while something waits to be written to it.
    fn poll_set(&self) -> (Vec<PollFd>, Vec<Slot>) {
        let mut fds = Vec::with_capacity(4 + self.clients.len());
        let mut slots = Vec::with_capacity(fds.capacity());
        let mut add = |fd: i32, events: i16, slot: Slot| {
            fds.push(fd::poll_fd(fd, events));
            slots.push(slot);
        };
        add(self.signals.as_raw_fd(), fd::POLLIN, Slot::Signals);
        for (i, s) in self.sources.iter().enumerate() {
            add(s.file.as_raw_fd(), fd::POLLIN, Slot::Source(i));
        }
        if let Some(l) = &self.listener {
            add(l.as_raw_fd(), fd::POLLIN, Slot::Listener);
        }
        for (i, c) in self.clients.iter().enumerate() {
            let ev = if c.pending.is_empty() {
                fd::POLLIN
            } else {
                fd::POLLIN | fd::POLLOUT
            };
            add(c.conn.as_raw_fd(), ev, Slot::Client(i));
        }
        if let (Some(s), false) = (&self.stdin, self.stdin_pending.is_empty()) {
            add(s.as_raw_fd(), fd::POLLOUT, Slot::Stdin);
        }
        (fds, slots)
    }

    /// Serve the ready entries of one poll; the init's exit code once it was reaped.
    fn dispatch(&mut self, fds: &[PollFd], slots: Vec<Slot>, buf: &mut [u8]) -> Option<i32> {
        let mut exit = None;
        let mut closed_sources = Vec::new();
        let mut dead_clients = Vec::new();
        for (pfd, slot) in fds.iter().zip(slots) {
            if pfd.revents == 0 {
                continue;
            }
            match slot {
                Slot::Signals => {
                    if let Some(code) = self.on_signals() {
                        exit = Some(code);
                        self.stdin = None;
                    }
                }
                Slot::Source(i) => match self.on_output(i, buf) {
                    Ok(dead) => dead_clients.extend(dead),
                    Err(()) => closed_sources.push(i),
                },
                Slot::Listener => self.accept(),
                Slot::Client(i) => {
                    if !self.on_client(i, pfd.revents, buf) {
                        dead_clients.push(i);
                    }
                }
                Slot::Stdin => self.flush_stdin(),
            }
        }
        dead_clients.sort_unstable();
        dead_clients.dedup();
        for i in dead_clients.into_iter().rev() {
            self.clients.remove(i);
        }
        closed_sources.sort_unstable();
        closed_sources.dedup();
        for i in closed_sources.into_iter().rev() {
            let mut s = self.sources.remove(i);
            s.lines.finish(s.stream, &mut self.log);
        }
        exit
    }

    /// Read output `i` into the log and to every client; the clients that fell away, or
    /// `Err` when the output closed.
    fn on_output(&mut self, i: usize, buf: &mut [u8]) -> Result<Vec<usize>, ()> {
        let src = &mut self.sources[i];
        match src.file.read(buf) {
            Ok(0) => Err(()),
            Ok(n) => {
                src.lines.feed(&buf[..n], src.stream, &mut self.log);
                let frame = attach::encode(src.kind, &buf[..n]);
                let mut dead = Vec::new();
                for (ci, c) in self.clients.iter_mut().enumerate() {
                    if !send(c, &frame) {
                        dead.push(ci);
                    }
                }
                Ok(dead)
            }
            Err(e) if e.kind() == ErrorKind::Interrupted || e.kind() == ErrorKind::WouldBlock => {
                Ok(Vec::new())
            }
            // EIO on a pty master once the terminal's last user is gone.
            Err(_) => Err(()),
        }
    }

    /// Flush the partial lines still buffered, and what attached clients are still owed,
    /// then hang up on them.
    fn finish(&mut self) {
        for mut s in self.sources.drain(..) {
            s.lines.finish(s.stream, &mut self.log);
        }
        for c in &mut self.clients {
            let _ = c.conn.set_nonblocking(false);
            let _ = c.conn.set_write_timeout(Some(Duration::from_millis(500)));
            let _ = c.conn.write_all(&c.pending);
        }
    }

    /// Handle pending signals; returns the init's exit code once it was reaped.
    fn on_signals(&mut self) -> Option<i32> {
        if self.signals.take().contains(&Signal::SIGUSR1) {
            self.log
                .reopen_flag()
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        let init = self.init;
        process::reap()
            .into_iter()
            .filter(|e| e.pid == init)
            .find_map(|e| e.code)
    }

    fn accept(&mut self) {
        let Some(l) = &self.listener else { return };
        while let Ok((conn, _)) = l.accept() {
            if conn.set_nonblocking(true).is_ok() {
                self.clients.push(Client {
                    conn,
                    decoder: Decoder::default(),
                    pending: Vec::new(),
                });
            }
        }
    }

    /// Serve one client event; false when the client is gone.
    fn on_client(&mut self, i: usize, revents: i16, buf: &mut [u8]) -> bool {
        let c = &mut self.clients[i];
        if revents & fd::POLLOUT != 0 && !flush(c) {
            return false;
        }
        if revents & (fd::POLLIN | fd::POLLHUP | fd::POLLERR) == 0 {
            return true;
        }
        let n = match c.conn.read(buf) {
            Ok(0) => return false,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted => {
                return true
            }
            Err(_) => return false,
        };
        c.decoder.push(&buf[..n]);
        let mut frames = Vec::new();
        loop {
            match c.decoder.next_frame() {
                Ok(Some(f)) => frames.push(f),
                Ok(None) => break,
                Err(_) => return false,
            }
        }
        for (kind, data) in frames {
            match kind {
                attach::STDIN if self.stdin.is_some() => {
                    self.stdin_pending.extend_from_slice(&data);
                    self.flush_stdin();
                }
                attach::CLOSE_STDIN if self.stdin_once => {
                    self.flush_stdin();
                    self.stdin = None;
                    self.stdin_pending.clear();
                }
                attach::RESIZE => {
                    if let (Some(t), Some((w, h))) = (&self.terminal, attach::parse_resize(&data)) {
                        let _ = fd::set_winsize(t, w, h);
                    }
                }
                _ => {}
            }
        }
        true
    }

    fn flush_stdin(&mut self) {
        let Some(s) = self.stdin.as_mut() else {
            self.stdin_pending.clear();
            return;
        };
        while !self.stdin_pending.is_empty() {
            match s.write(&self.stdin_pending) {
                Ok(n) => {
                    self.stdin_pending.drain(..n);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(_) => {
                    self.stdin = None;
                    self.stdin_pending.clear();
                    return;
                }
            }
        }
    }
}

/// Queue `frame` for a client; false when the client is too far behind or gone.
fn send(c: &mut Client, frame: &[u8]) -> bool {
    c.pending.extend_from_slice(frame);
    flush(c) && c.pending.len() <= MAX_PENDING
}

fn flush(c: &mut Client) -> bool {
    while !c.pending.is_empty() {
        match c.conn.write(&c.pending) {
            Ok(0) => return false,
            Ok(n) => {
                c.pending.drain(..n);
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
            Err(_) => return false,
        }
    }
    true
}
