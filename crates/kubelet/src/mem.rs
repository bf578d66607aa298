//! Keeps the agent's resident memory small: caps glibc's malloc arenas (one
//! per thread by default, each holding freed memory), and now and then hands
//! freed heap pages back to the kernel and unmaps the clean pages of
//! read-only file mappings (the binary's code and constants), which the
//! kernel maps again from the page cache when they are next used.
#![allow(unsafe_code)]

use std::io::BufRead;
use std::time::Duration;

use tokio::sync::watch;

/// First trim after start (the start-up work is done by then), then this often.
const FIRST: Duration = Duration::from_secs(30);
const EVERY: Duration = Duration::from_secs(60);

/// Cap malloc arenas at two (what `MALLOC_ARENA_MAX=2` does); threads
/// created later share them instead of each growing its own.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; any value is accepted.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Return freed heap memory and drop clean file-backed pages once.
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory inside the allocator.
    unsafe {
        libc::malloc_trim(0);
    }
    for (addr, len) in clean_file_mappings() {
        // SAFETY: the range is a whole, currently mapped, private read-only
        // file mapping without anonymous (copied-on-write) pages: MADV_DONTNEED
        // only drops page-table entries that the kernel fills again from the
        // file on the next access, so no data can be lost.
        unsafe {
            libc::madvise(addr as *mut libc::c_void, len, libc::MADV_DONTNEED);
        }
    }
}

/// Trim now and then until shutdown.
pub async fn trim_loop(mut shutdown: watch::Receiver<bool>) {
    let mut wait = FIRST;
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        let _ = tokio::task::spawn_blocking(trim).await;
        wait = EVERY;
    }
}

/// `(start, length)` of every private read-only file mapping of this
/// process that holds no anonymous pages, read from `/proc/self/smaps`.
fn clean_file_mappings() -> Vec<(usize, usize)> {
    let Ok(f) = std::fs::File::open("/proc/self/smaps") else {
        return vec![];
    };
    parse_smaps(std::io::BufReader::new(f).lines().map_while(Result::ok))
}

fn parse_smaps(lines: impl Iterator<Item = String>) -> Vec<(usize, usize)> {
    let mut out = vec![];
    let mut current: Option<(usize, usize)> = None;
    for line in lines {
        let mut parts = line.split_whitespace();
        let first = parts.next().unwrap_or("");
        if let Some((a, b)) = first.split_once('-') {
            // "start-end perms offset dev inode path"
            current = None;
            let perms = parts.next().unwrap_or("");
            let path = parts.nth(3).unwrap_or("");
            if (perms == "r-xp" || perms == "r--p") && path.starts_with('/') {
                if let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
                {
                    current = Some((a, b.saturating_sub(a)));
                }
            }
        } else if first == "Anonymous:" {
            if let Some(r) = current.take() {
                if parts.next() == Some("0") {
                    out.push(r);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_clean_read_only_file_mappings() {
        let smaps = "\
55d0a0000000-55d0a0100000 r--p 00000000 08:01 123 /usr/bin/skiff
Rss: 100 kB
Anonymous: 0 kB
55d0a0100000-55d0a0300000 r-xp 00100000 08:01 123 /usr/bin/skiff
Anonymous: 0 kB
55d0a0300000-55d0a0310000 r--p 00300000 08:01 123 /usr/bin/skiff
Anonymous: 64 kB
55d0a0310000-55d0a0320000 rw-p 00310000 08:01 123 /usr/bin/skiff
Anonymous: 0 kB
7f0000000000-7f0000001000 r--p 00000000 00:00 0
Anonymous: 0 kB
7ffc00000000-7ffc00001000 r-xp 00000000 00:00 0 [vdso]
Anonymous: 0 kB
";
        let got = parse_smaps(smaps.lines().map(str::to_string));
        assert_eq!(
            got,
            vec![(0x55d0a0000000, 0x100000), (0x55d0a0100000, 0x200000)]
        );
    }

    #[test]
    fn trimming_keeps_the_process_working() {
        limit_arenas();
        trim();
        let v: Vec<u64> = (0..1000).collect();
        assert_eq!(v.iter().sum::<u64>(), 499_500);
    }
}
