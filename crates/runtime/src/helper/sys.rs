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

/// Drop this process's resident pages of executable file mappings (the big
/// binary's and the shared libraries' code). They stay in the page cache and
/// fault back in when executed, so afterwards the resident set holds only the
/// code the monitor's steady-state loop actually runs.
///
/// Only read-only, executable, file-backed private mappings are touched: their
/// pages are never written, so discarding them cannot lose data.
pub(crate) fn trim_text_pages() {
    let Ok(f) = std::fs::File::open("/proc/self/maps") else {
        return;
    };
    let mut ranges = Vec::new();
    for line in std::io::BufReader::new(f).lines().map_while(Result::ok) {
        let mut parts = line.split_whitespace();
        let (Some(range), Some(perms)) = (parts.next(), parts.next()) else {
            continue;
        };
        let path = parts.nth(3).unwrap_or("");
        if perms != "r-xp" || !path.starts_with('/') {
            continue;
        }
        let Some((a, b)) = range.split_once('-') else {
            continue;
        };
        if let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16)) {
            ranges.push((a, b - a));
        }
    }
    for (addr, len) in ranges {
        // SAFETY: the range is a whole, currently mapped, read-only private file
        // mapping; MADV_DONTNEED only discards clean page-table entries, which the
        // kernel re-populates from the file on the next access.
        unsafe {
            libc::madvise(addr as *mut libc::c_void, len, libc::MADV_DONTNEED);
        }
    }
}
