//! Giving back what an idle monitor holds but can get again for free: resident
//! pages of its private file mappings that are still clean copies of the file (the
//! large executable's code and constants, the shared libraries'), free heap, the
//! unused depth of its stack and its read buffer. Done when the event loop has been
//! idle for a while, right before it blocks again, so the resident set is what the
//! next wake-up touches. The drop and the following `poll` are direct system calls:
//! no libc code runs between them (the kernel maps 64 KiB around every faulting
//! file page, so one libc call would bring back a whole window of its text).
#![allow(unsafe_code)]

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::FileExt;

use crate::sys::direct::{dontneed_direct, malloc_trim, poll_direct};
use crate::sys::fd::PollFd;

const PAGE: usize = 4096;
/// Stack kept below the caller's frame when the stack's unused depth is dropped.
const STACK_MARGIN: usize = 16 * 1024;
/// pagemap entry bits (see Documentation/admin-guide/mm/pagemap.rst).
const PM_PRESENT: u64 = 1 << 63;
const PM_FILE: u64 = 1 << 61;

/// Reusable state of the trims (kept so a trim allocates little).
#[derive(Default)]
pub(crate) struct Trimmer {
    /// `(address, length)` ranges to drop.
    runs: Vec<(usize, usize)>,
    /// The main thread's stack mapping `(start, end)`.
    stack: Option<(usize, usize)>,
}

/// One mapping of /proc/self/smaps.
struct Mapping {
    start: usize,
    end: usize,
    writable: bool,
    private: bool,
    file: bool,
    stack: bool,
    rss_kb: u64,
    anon_kb: u64,
    swap_kb: u64,
}

impl Trimmer {
    /// Trim (see the module docs), then `poll(fds, timeout_ms)`. `scratch` is a
    /// buffer whose contents are not needed any more (they may read back as zeros).
    pub(crate) fn trim_and_poll(
        &mut self,
        scratch: &mut [u8],
        fds: &mut [PollFd],
        timeout_ms: i32,
    ) -> std::io::Result<usize> {
        self.collect(scratch);
        drop_then_poll(&self.runs, self.stack, fds, timeout_ms)
    }

    /// Find the droppable ranges and release free heap (everything that needs libc).
    #[inline(never)]
    fn collect(&mut self, scratch: &mut [u8]) {
        self.runs.clear();
        self.stack = None;
        if let Err(e) = self.scan() {
            tracing::debug!("trim: {e}");
            self.runs.clear();
        }
        let lo = (scratch.as_ptr() as usize).next_multiple_of(PAGE);
        let hi = (scratch.as_ptr() as usize + scratch.len()) & !(PAGE - 1);
        if hi > lo {
            self.runs.push((lo, hi - lo));
        }
        malloc_trim();
    }

    fn scan(&mut self) -> std::io::Result<()> {
        let smaps = BufReader::new(File::open("/proc/self/smaps")?);
        let pagemap = File::open("/proc/self/pagemap")?;
        let mut current: Option<Mapping> = None;
        for line in smaps.lines() {
            let line = line?;
            if let Some(m) = parse_header(&line) {
                if let Some(done) = current.replace(m) {
                    self.consider(&done, &pagemap)?;
                }
                continue;
            }
            let Some(m) = current.as_mut() else { continue };
            let mut parts = line.split_whitespace();
            let key = parts.next().unwrap_or("");
            let kb = parts.next().and_then(|v| v.parse().ok()).unwrap_or(0);
            match key {
                "Rss:" => m.rss_kb = kb,
                "Anonymous:" => m.anon_kb = kb,
                "Swap:" => m.swap_kb = kb,
                _ => {}
            }
        }
        if let Some(done) = current {
            self.consider(&done, &pagemap)?;
        }
        Ok(())
    }

    /// Add the droppable pages of one mapping: all of a read-only file mapping with
    /// no private pages, else each resident page that is still the file's.
    fn consider(&mut self, m: &Mapping, pagemap: &File) -> std::io::Result<()> {
        if m.stack {
            self.stack = Some((m.start, m.end));
            return Ok(());
        }
        if !m.file || !m.private || m.rss_kb == 0 {
            return Ok(());
        }
        if !m.writable && m.anon_kb == 0 && m.swap_kb == 0 {
            self.runs.push((m.start, m.end - m.start));
            return Ok(());
        }
        let mut words = [0u64; 512];
        let mut addr = m.start;
        let mut run: Option<(usize, usize)> = None;
        while addr < m.end {
            let n = ((m.end - addr) / PAGE).min(words.len());
            let mut bytes = [0u8; 512 * 8];
            pagemap.read_exact_at(&mut bytes[..n * 8], (addr / PAGE * 8) as u64)?;
            for (w, b) in words.iter_mut().zip(bytes.chunks_exact(8)).take(n) {
                *w = u64::from_ne_bytes(b.try_into().unwrap_or_default());
            }
            for (i, w) in words[..n].iter().enumerate() {
                let page = addr + i * PAGE;
                if w & PM_PRESENT != 0 && w & PM_FILE != 0 {
                    run = match run {
                        Some((s, l)) if s + l == page => Some((s, l + PAGE)),
                        other => {
                            self.runs.extend(other);
                            Some((page, PAGE))
                        }
                    };
                }
            }
            addr += n * PAGE;
        }
        self.runs.extend(run);
        Ok(())
    }
}

/// "start-end perms offset dev inode path" → a mapping (sizes filled in later).
fn parse_header(line: &str) -> Option<Mapping> {
    let mut parts = line.split_whitespace();
    let (a, b) = parts.next()?.split_once('-')?;
    let start = usize::from_str_radix(a, 16).ok()?;
    let end = usize::from_str_radix(b, 16).ok()?;
    let perms = parts.next()?.as_bytes();
    if perms.len() != 4 {
        return None;
    }
    let inode = parts.nth(2)?;
    let path = parts.next().unwrap_or("");
    Some(Mapping {
        start,
        end,
        writable: perms[1] == b'w',
        private: perms[3] == b'p',
        // Regular files only: not devices, not anonymous shared memory.
        file: inode != "0" && path.starts_with('/') && !path.starts_with("/dev/"),
        stack: path == "[stack]",
        rss_kb: 0,
        anon_kb: 0,
        swap_kb: 0,
    })
}

/// Drop `runs` and the stack below this frame, then poll: direct system calls only.
#[inline(never)]
fn drop_then_poll(
    runs: &[(usize, usize)],
    stack: Option<(usize, usize)>,
    fds: &mut [PollFd],
    timeout_ms: i32,
) -> std::io::Result<usize> {
    for &(addr, len) in runs {
        // SAFETY: every run is a resident page range of a private file mapping whose
        // pages are still the file's (they fault back in unchanged), or the
        // caller's scratch buffer, whose contents it gave up.
        unsafe { dontneed_direct(addr, len) };
    }
    let marker = 0u8;
    let sp = std::hint::black_box(&marker) as *const u8 as usize;
    if let Some((lo, hi)) = stack {
        let top = sp.saturating_sub(STACK_MARGIN) & !(PAGE - 1);
        if sp > lo && sp < hi && top > lo {
            // SAFETY: the range lies in this thread's stack more than STACK_MARGIN
            // below the current frame: no live data is there (no signal handlers
            // run on it: the monitor takes signals through a signalfd).
            unsafe { dontneed_direct(lo, top - lo) };
        }
    }
    poll_direct(fds, timeout_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_parsed() {
        let m =
            parse_header("55d0-55e0 r--p 00000000 fe:00 5394419                    /usr/bin/skiff")
                .expect("header");
        assert_eq!((m.start, m.end), (0x55d0, 0x55e0));
        assert!(m.file && m.private && !m.writable && !m.stack);
        let s = parse_header("7ffe-7fff rw-p 00000000 00:00 0   [stack]").expect("stack");
        assert!(s.stack && !s.file && s.writable);
        let anon = parse_header("7fd1-7fd2 rw-p 00000000 00:00 0 ").expect("anon");
        assert!(!anon.file);
        assert!(parse_header("Rss:                 128 kB").is_none());
        assert!(parse_header("VmFlags: rd mr mw me dw sd").is_none());
    }

    #[test]
    fn trimming_keeps_private_data_and_code_working() {
        // Private data of every kind survives; the scratch buffer may be zeroed.
        use std::sync::atomic::{AtomicUsize, Ordering};
        static CONSTANT: [u8; 3] = [1, 2, 3];
        static WRITTEN: AtomicUsize = AtomicUsize::new(5);
        WRITTEN.store(11, Ordering::SeqCst);
        let heap = vec![7u8; 3 * PAGE];
        let mut scratch = vec![9u8; 8 * PAGE];
        let (r, _w) = std::io::pipe().expect("pipe");
        use std::os::fd::AsRawFd;
        let mut fds = [crate::sys::fd::poll_fd(
            r.as_raw_fd(),
            crate::sys::fd::POLLIN,
        )];
        let mut t = Trimmer::default();
        let n = t.trim_and_poll(&mut scratch, &mut fds, 0).expect("poll");
        assert_eq!(n, 0);
        assert!(heap.iter().all(|&b| b == 7));
        assert_eq!(std::hint::black_box(&CONSTANT), &[1, 2, 3]);
        assert_eq!(WRITTEN.load(Ordering::SeqCst), 11);
        assert!(t.runs.iter().any(|&(_, l)| l >= PAGE), "{:?}", t.runs);
        assert_eq!(format!("{}", 6 * 7), "42");
    }
}
