//! The few raw system calls the monitor needs that `nix` (with the features this
//! workspace enables) does not offer: `poll(2)` and dropping resident text pages.
#![allow(unsafe_code)]

use std::io::BufRead;

/// Wait for events on `fds` (see poll(2)); `timeout_ms < 0` waits forever.
pub(crate) fn poll(fds: &mut [libc::pollfd], timeout_ms: i32) -> std::io::Result<usize> {
    // SAFETY: the pointer and length describe a valid, exclusively borrowed slice.
    let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(rc as usize)
}

/// Drop this process's resident pages of read-only file mappings (the big
/// binary's and the shared libraries' code and constants). They stay in the page
/// cache and fault back in when used, so afterwards the resident set holds only
/// what the monitor's steady-state loop actually touches.
///
/// Only private mappings that are not writable and hold no anonymous (copied on
/// write, e.g. relocated RELRO) pages are touched: their pages are clean copies of
/// the file, so discarding them cannot lose data.
pub(crate) fn trim_text_pages() {
    let Ok(f) = std::fs::File::open("/proc/self/smaps") else {
        return;
    };
    let mut ranges = Vec::new();
    let mut current: Option<(usize, usize)> = None;
    for line in std::io::BufReader::new(f).lines().map_while(Result::ok) {
        let mut parts = line.split_whitespace();
        let first = parts.next().unwrap_or("");
        if let Some((a, b)) = first.split_once('-') {
            // A mapping header: "start-end perms offset dev inode path".
            let perms = parts.next().unwrap_or("");
            let path = parts.nth(3).unwrap_or("");
            current = None;
            if (perms == "r-xp" || perms == "r--p") && path.starts_with('/') {
                if let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
                {
                    current = Some((a, b - a));
                }
            }
        } else if first == "Anonymous:" {
            if let Some(r) = current.take() {
                if parts.next() == Some("0") {
                    ranges.push(r);
                }
            }
        }
    }
    for (addr, len) in ranges {
        // SAFETY: the range is a whole, currently mapped, read-only private file
        // mapping without anonymous pages; MADV_DONTNEED only discards clean
        // page-table entries, which the kernel re-populates from the file on access.
        unsafe {
            libc::madvise(addr as *mut libc::c_void, len, libc::MADV_DONTNEED);
        }
    }
}
