//! The monitor's memory trim calls (see `helper::trim`): `madvise(2)` and `poll(2)` issued
//! directly as system calls (no libc code runs, so none of its text is faulted back in right
//! after the monitor dropped it), and the allocator's `malloc_trim`.
#![allow(unsafe_code)]

use super::fd::PollFd;

/// `poll(2)` without going through libc (same contract as [`super::fd::poll`]).
pub(crate) fn poll_direct(fds: &mut [PollFd], timeout_ms: i32) -> std::io::Result<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: poll reads and writes exactly `fds.len()` entries of the slice.
        let rc = unsafe {
            syscall3(
                libc::SYS_poll,
                fds.as_mut_ptr() as usize,
                fds.len(),
                timeout_ms as isize as usize,
            )
        };
        if rc < 0 {
            return Err(std::io::Error::from_raw_os_error(-rc as i32));
        }
        Ok(rc as usize)
    }
    #[cfg(not(target_arch = "x86_64"))]
    super::fd::poll(fds, timeout_ms)
}

/// `madvise(addr, len, MADV_DONTNEED)` without going through libc.
///
/// # Safety
/// The range must be mapped, and the caller must not need the contents of its
/// anonymous (private, written) pages: they read back as zeros.
pub(crate) unsafe fn dontneed_direct(addr: usize, len: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: forwarded to the caller.
    unsafe {
        syscall3(libc::SYS_madvise, addr, len, libc::MADV_DONTNEED as usize);
    }
    #[cfg(not(target_arch = "x86_64"))]
    // SAFETY: forwarded to the caller.
    unsafe {
        libc::madvise(addr as *mut libc::c_void, len, libc::MADV_DONTNEED);
    }
}

/// Return free heap memory to the kernel (glibc's `malloc_trim`; nothing elsewhere).
pub(crate) fn malloc_trim() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only returns free heap memory to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// A three-argument Linux system call; returns the raw result (`-errno` on failure).
#[cfg(target_arch = "x86_64")]
unsafe fn syscall3(nr: libc::c_long, a: usize, b: usize, c: usize) -> isize {
    let ret: isize;
    // SAFETY: the x86-64 Linux system-call convention; the kernel clobbers rcx and
    // r11 only. Memory effects are the called system call's (see the callers).
    unsafe {
        std::arch::asm!(
            "syscall",
            inlateout("rax") nr as isize => ret,
            in("rdi") a,
            in("rsi") b,
            in("rdx") c,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct_poll_reports_a_readable_pipe_and_times_out_on_an_empty_one() {
        use std::io::Write;
        use std::os::fd::AsRawFd;
        let (r, mut w) = std::io::pipe().expect("pipe");
        let mut fds = [super::super::fd::poll_fd(
            r.as_raw_fd(),
            super::super::fd::POLLIN,
        )];
        assert_eq!(poll_direct(&mut fds, 0).expect("poll"), 0);
        w.write_all(b"x").expect("write");
        assert_eq!(poll_direct(&mut fds, 1000).expect("poll"), 1);
        assert_ne!(fds[0].revents & super::super::fd::POLLIN, 0);
        // An invalid pointer is reported as EFAULT, not a crash.
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the kernel validates the pointer; nothing is written through it.
        assert_eq!(
            unsafe { syscall3(libc::SYS_poll, 8, 1, 0) },
            -(libc::EFAULT as isize)
        );
    }
}
