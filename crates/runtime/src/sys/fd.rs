//! Descriptors: pipes, non-blocking mode, `poll(2)`, pointing stdout at `/dev/null`, the
//! non-blocking open of an exec FIFO, and terminal plumbing (receiving a pty master over a
//! console socket with SCM_RIGHTS, setting its window size with TIOCSWINSZ).
#![allow(unsafe_code)]

use std::fs::File;
use std::io::{self, IoSliceMut};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixListener;
use std::path::Path;

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};

/// One entry of a `poll(2)` set.
pub(crate) type PollFd = libc::pollfd;
/// Readable.
pub(crate) const POLLIN: i16 = libc::POLLIN;
/// Writable.
pub(crate) const POLLOUT: i16 = libc::POLLOUT;
/// Hung up.
pub(crate) const POLLHUP: i16 = libc::POLLHUP;
/// Error.
pub(crate) const POLLERR: i16 = libc::POLLERR;

/// A poll entry watching `fd` for `events`.
pub(crate) fn poll_fd(fd: RawFd, events: i16) -> PollFd {
    PollFd {
        fd,
        events,
        revents: 0,
    }
}

/// Wait for events on `fds` (see poll(2)); `timeout_ms < 0` waits forever.
pub(crate) fn poll(fds: &mut [PollFd], timeout_ms: i32) -> io::Result<usize> {
    // SAFETY: the pointer and length describe a valid, exclusively borrowed slice.
    let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(rc as usize)
}

/// A close-on-exec pipe: (read end, write end).
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(io::Error::from)
}

/// `fd` switched to non-blocking mode, as a file.
pub(crate) fn nonblocking(fd: OwnedFd) -> io::Result<File> {
    let flags = fcntl(&fd, FcntlArg::F_GETFL)?;
    let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
    fcntl(&fd, FcntlArg::F_SETFL(flags))?;
    Ok(File::from(fd))
}

/// Point this process's stdout at `/dev/null` (after its last report to the parent).
pub(crate) fn stdout_to_null() {
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        let _ = nix::unistd::dup2_stdout(&null);
    }
}

/// Open a FIFO for reading without waiting for a writer.
pub(crate) fn open_fifo_reader(path: &Path) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

/// Accept one connection on `listener` and receive the file descriptor it sends.
pub(crate) fn receive_fd(listener: &UnixListener) -> io::Result<OwnedFd> {
    let (conn, _) = listener.accept()?;
    let mut buf = [0u8; 4096];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut cmsg = nix::cmsg_space!([RawFd; 4]);
    let msg = recvmsg::<()>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::empty(),
    )
    .map_err(io::Error::from)?;
    let mut received = Vec::new();
    for c in msg.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            received.extend(fds);
        }
    }
    let mut iter = received.into_iter();
    let first = iter
        .next()
        .ok_or_else(|| io::Error::other("no file descriptor received on console socket"))?;
    for extra in iter {
        // SAFETY: the kernel just installed these descriptors for us; closing them once is correct.
        drop(unsafe { OwnedFd::from_raw_fd(extra) });
    }
    // SAFETY: `first` is a fresh descriptor installed by SCM_RIGHTS that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(first) })
}

/// Set the window size of the terminal behind `fd`.
pub(crate) fn set_winsize(fd: &impl AsRawFd, cols: u16, rows: u16) -> io::Result<()> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a `winsize` from the pointer, which is valid for the call.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
