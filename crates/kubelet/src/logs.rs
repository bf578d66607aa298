//! CRI container log files: parse the `<time> <stream> <P|F> <text>` lines,
//! select by tail/since/limit, render with optional timestamps, and follow a
//! file across rotation.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::mpsc;

/// One parsed log line.
#[derive(Clone, Debug, PartialEq)]
pub struct LogLine {
    /// When the runtime wrote it.
    pub time: DateTime<Utc>,
    /// `stdout` or `stderr`.
    pub stream: String,
    /// False for a `P` (partial) record.
    pub full: bool,
    /// The text, without the newline.
    pub text: String,
}

/// Which lines to send and how.
#[derive(Clone, Debug, Default)]
pub struct LogOptions {
    /// Keep streaming new lines.
    pub follow: bool,
    /// Only the last N lines.
    pub tail_lines: Option<usize>,
    /// Only lines at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Prefix lines with their RFC3339Nano time.
    pub timestamps: bool,
    /// Stop after this many bytes.
    pub limit_bytes: Option<usize>,
}

/// Parse one line of a CRI log file.
pub fn parse_line(line: &str) -> Option<LogLine> {
    let mut parts = line.splitn(4, ' ');
    let time = DateTime::parse_from_rfc3339(parts.next()?)
        .ok()?
        .with_timezone(&Utc);
    let stream = parts.next()?.to_string();
    let tag = parts.next()?;
    let text = parts.next().unwrap_or("").to_string();
    let full = !tag.split(':').any(|t| t == "P");
    Some(LogLine {
        time,
        stream,
        full,
        text,
    })
}

/// Render one line as the node API sends it.
pub fn render(line: &LogLine, timestamps: bool) -> String {
    let mut out = String::new();
    if timestamps {
        out.push_str(&line.time.to_rfc3339_opts(SecondsFormat::Nanos, true));
        out.push(' ');
    }
    out.push_str(&line.text);
    if line.full {
        out.push('\n');
    }
    out
}

/// Select and render the lines of a whole file's content.
pub fn select(content: &str, opts: &LogOptions) -> Vec<String> {
    let lines: Vec<LogLine> = content
        .lines()
        .filter_map(parse_line)
        .filter(|l| opts.since.is_none_or(|s| l.time >= s))
        .collect();
    let start = match opts.tail_lines {
        Some(n) => {
            // count full lines from the end; partial records belong to the next full one
            let mut full_seen = 0;
            let mut idx = lines.len();
            while idx > 0 {
                if lines[idx - 1].full {
                    if full_seen == n {
                        break;
                    }
                    full_seen += 1;
                }
                idx -= 1;
            }
            idx
        }
        None => 0,
    };
    lines[start..]
        .iter()
        .map(|l| render(l, opts.timestamps))
        .collect()
}

/// Apply a byte budget to rendered chunks; returns false once it is spent.
fn take_budget(chunk: String, budget: &mut Option<usize>) -> (String, bool) {
    match budget {
        None => (chunk, true),
        Some(left) => {
            if chunk.len() >= *left {
                let mut cut = *left;
                while !chunk.is_char_boundary(cut) {
                    cut -= 1;
                }
                let s = chunk[..cut].to_string();
                *left = 0;
                (s, false)
            } else {
                *left -= chunk.len();
                (chunk, true)
            }
        }
    }
}

/// Stream the log file at `path` into `tx`. With `follow`, keep reading
/// (reopening the file when it is rotated) until `still_running` says the
/// container stopped and the file has been drained, or the receiver leaves.
pub async fn stream_file<F, Fut>(
    path: PathBuf,
    opts: LogOptions,
    tx: mpsc::Sender<Result<String, std::io::Error>>,
    still_running: F,
) where
    F: Fn() -> Fut + Send,
    Fut: std::future::Future<Output = bool> + Send,
{
    let mut budget = opts.limit_bytes;
    let content = match tokio::fs::read(&path).await {
        Ok(c) => c,
        Err(e) => {
            let _ = tx.send(Err(e)).await;
            return;
        }
    };
    let complete_len = content
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |p| p + 1);
    let text = String::from_utf8_lossy(&content[..complete_len]);
    for chunk in select(&text, &opts) {
        let (chunk, more) = take_budget(chunk, &mut budget);
        if tx.send(Ok(chunk)).await.is_err() || !more {
            return;
        }
    }
    if !opts.follow {
        return;
    }
    follow(path, complete_len as u64, opts, budget, tx, still_running).await;
}

async fn follow<F, Fut>(
    path: PathBuf,
    mut pos: u64,
    opts: LogOptions,
    mut budget: Option<usize>,
    tx: mpsc::Sender<Result<String, std::io::Error>>,
    still_running: F,
) where
    F: Fn() -> Fut + Send,
    Fut: std::future::Future<Output = bool> + Send,
{
    let mut ino = inode(&path).await;
    let mut pending = String::new();
    let mut idle_checks = 0u32;
    loop {
        let mut got = false;
        if let Ok(mut f) = tokio::fs::File::open(&path).await {
            let meta = f.metadata().await.ok();
            let len = meta.as_ref().map(|m| m.len()).unwrap_or(0);
            let now_ino = meta
                .as_ref()
                .map(std::os::unix::fs::MetadataExt::ino)
                .unwrap_or(0);
            if now_ino != ino || len < pos {
                // rotated: start the new file from its beginning
                ino = now_ino;
                pos = 0;
            }
            if len > pos && f.seek(std::io::SeekFrom::Start(pos)).await.is_ok() {
                let mut buf = Vec::new();
                if let Ok(n) = f.read_to_end(&mut buf).await {
                    pos += n as u64;
                    pending.push_str(&String::from_utf8_lossy(&buf));
                    got = n > 0;
                }
            }
        }
        while let Some(nl) = pending.find('\n') {
            let line: String = pending.drain(..=nl).collect();
            let Some(parsed) = parse_line(line.trim_end_matches('\n')) else {
                continue;
            };
            if opts.since.is_some_and(|s| parsed.time < s) {
                continue;
            }
            let (chunk, more) = take_budget(render(&parsed, opts.timestamps), &mut budget);
            if tx.send(Ok(chunk)).await.is_err() || !more {
                return;
            }
        }
        if got {
            idle_checks = 0;
            continue;
        }
        if tx.is_closed() {
            return;
        }
        idle_checks += 1;
        if idle_checks.is_multiple_of(10) && !still_running().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn inode(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    tokio::fs::metadata(path)
        .await
        .map(|m| m.ino())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "2024-01-02T03:04:05.000000001Z stdout F one\n\
2024-01-02T03:04:06.5Z stderr F two\n\
2024-01-02T03:04:07.000000000Z stdout P thr\n\
2024-01-02T03:04:07.100000000Z stdout F ee\n\
2024-01-02T03:04:08.000000000Z stdout F \n";

    #[test]
    fn parses_cri_lines() {
        let l = parse_line("2016-10-06T00:17:09.669794202Z stdout F hello world")
            .unwrap_or_else(|| panic!("parse"));
        assert_eq!(l.stream, "stdout");
        assert!(l.full);
        assert_eq!(l.text, "hello world");
        assert!(!parse_line("2016-10-06T00:17:09Z stdout P x")
            .map(|l| l.full)
            .unwrap_or(true));
        assert!(parse_line("garbage").is_none());
    }

    #[test]
    fn selects_plain_tail_since_and_timestamps() {
        let all = select(LOG, &LogOptions::default()).concat();
        assert_eq!(all, "one\ntwo\nthree\n\n");
        let tail = LogOptions {
            tail_lines: Some(2),
            ..Default::default()
        };
        assert_eq!(select(LOG, &tail).concat(), "three\n\n");
        let tail0 = LogOptions {
            tail_lines: Some(0),
            ..Default::default()
        };
        assert_eq!(select(LOG, &tail0).concat(), "");
        let since = LogOptions {
            since: DateTime::parse_from_rfc3339("2024-01-02T03:04:06Z")
                .ok()
                .map(|d| d.with_timezone(&Utc)),
            ..Default::default()
        };
        assert_eq!(select(LOG, &since).concat(), "two\nthree\n\n");
        let ts = LogOptions {
            timestamps: true,
            tail_lines: Some(3),
            ..Default::default()
        };
        assert_eq!(
            select(LOG, &ts).concat(),
            "2024-01-02T03:04:06.500000000Z two\n2024-01-02T03:04:07.000000000Z thr2024-01-02T03:04:07.100000000Z ee\n2024-01-02T03:04:08.000000000Z \n"
        );
    }

    #[tokio::test]
    async fn limit_bytes_and_follow_across_rotation() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("0.log");
        std::fs::write(&path, LOG).unwrap_or_else(|e| panic!("{e}"));
        let (tx, mut rx) = mpsc::channel(16);
        let opts = LogOptions {
            limit_bytes: Some(6),
            ..Default::default()
        };
        stream_file(path.clone(), opts, tx, || async { true }).await;
        let mut got = String::new();
        while let Some(Ok(c)) = rx.recv().await {
            got.push_str(&c);
        }
        assert_eq!(got, "one\ntw");

        let (tx, mut rx) = mpsc::channel(16);
        let opts = LogOptions {
            follow: true,
            tail_lines: Some(1),
            ..Default::default()
        };
        let running = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let r2 = running.clone();
        let task = tokio::spawn(stream_file(path.clone(), opts, tx, move || {
            let r = r2.clone();
            async move { r.load(std::sync::atomic::Ordering::SeqCst) }
        }));
        assert_eq!(rx.recv().await.and_then(|r| r.ok()).as_deref(), Some("\n"));
        // append, then rotate the file and write to a new one
        let mut content = std::fs::read_to_string(&path).unwrap_or_default();
        content.push_str("2024-01-02T03:05:00Z stdout F appended\n");
        std::fs::write(&path, &content).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            rx.recv().await.and_then(|r| r.ok()).as_deref(),
            Some("appended\n")
        );
        std::fs::rename(&path, dir.path().join("0.log.1")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&path, "2024-01-02T03:06:00Z stdout F rotated\n")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            rx.recv().await.and_then(|r| r.ok()).as_deref(),
            Some("rotated\n")
        );
        running.store(false, std::sync::atomic::Ordering::SeqCst);
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        assert!(rx.recv().await.is_none());
    }
}
