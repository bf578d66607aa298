//! Terminal plumbing for TTY exec: receiving the pty master over a console socket
//! (SCM_RIGHTS) and setting its window size (TIOCSWINSZ).
#![allow(unsafe_code)]

use std::io::IoSliceMut;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;

use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};

/// Accept one connection on `listener` and receive the file descriptor it sends.
pub fn receive_fd(listener: &UnixListener) -> std::io::Result<OwnedFd> {
    let (conn, _) = listener.accept()?;
    let mut buf = [0u8; 4096];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 4]);
    let msg = recvmsg::<()>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::empty(),
    )
    .map_err(std::io::Error::from)?;
    let mut received = Vec::new();
    for c in msg.cmsgs().map_err(std::io::Error::from)? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            received.extend(fds);
        }
    }
    let mut iter = received.into_iter();
    let first = iter
        .next()
        .ok_or_else(|| std::io::Error::other("no file descriptor received on console socket"))?;
    for extra in iter {
        // SAFETY: the kernel just installed these descriptors for us; closing them once is correct.
        drop(unsafe { OwnedFd::from_raw_fd(extra) });
    }
    // SAFETY: `first` is a fresh descriptor installed by SCM_RIGHTS that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(first) })
}

/// Set the window size of the terminal behind `fd`.
pub fn set_winsize(fd: &impl AsRawFd, cols: u16, rows: u16) -> std::io::Result<()> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a `winsize` from the pointer, which is valid for the call.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
