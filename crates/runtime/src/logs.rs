//! Container log files in the CRI format (`<RFC3339Nano> <stream> <F|P> <text>`),
//! with size-based rotation (`<path>.1` is the newest rotated file).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Lines longer than this are split into partial (`P`) records.
pub(crate) const MAX_LINE: usize = 16 * 1024;

/// Appends CRI log records to a file, rotating it by size.
pub(crate) struct LogWriter {
    path: PathBuf,
    file: Option<File>,
    size: u64,
    max_size: u64,
    max_files: u32,
    reopen: Arc<AtomicBool>,
}

impl LogWriter {
    /// Open (append) `path`; an empty path discards everything.
    pub(crate) fn open(path: &Path, max_size: u64, max_files: u32) -> std::io::Result<Self> {
        let mut w = LogWriter {
            path: path.to_path_buf(),
            file: None,
            size: 0,
            max_size,
            max_files: max_files.max(1),
            reopen: Arc::default(),
        };
        w.reopen_file()?;
        Ok(w)
    }

    /// Flag that, once set, makes the writer reopen its file before the next record.
    pub(crate) fn reopen_flag(&self) -> Arc<AtomicBool> {
        self.reopen.clone()
    }

    fn reopen_file(&mut self) -> std::io::Result<()> {
        if self.path.as_os_str().is_empty() {
            return Ok(());
        }
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        self.size = f.metadata().map(|m| m.len()).unwrap_or(0);
        self.file = Some(f);
        Ok(())
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        self.file = None;
        let keep = self.max_files.saturating_sub(1);
        if keep == 0 {
            std::fs::remove_file(&self.path).ok();
        } else {
            let name = |n: u32| PathBuf::from(format!("{}.{n}", self.path.display()));
            std::fs::remove_file(name(keep)).ok();
            for n in (1..keep).rev() {
                std::fs::rename(name(n), name(n + 1)).ok();
            }
            std::fs::rename(&self.path, name(1))?;
        }
        self.reopen_file()
    }

    /// Write one record.
    pub(crate) fn record(&mut self, stream: &str, full: bool, text: &[u8]) -> std::io::Result<()> {
        if self.reopen.swap(false, Ordering::Relaxed) {
            self.reopen_file()?;
        }
        if self.file.is_none() {
            return Ok(());
        }
        let ts = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        let mut line = Vec::with_capacity(ts.len() + text.len() + 12);
        line.extend_from_slice(ts.as_bytes());
        line.push(b' ');
        line.extend_from_slice(stream.as_bytes());
        line.extend_from_slice(if full { b" F " } else { b" P " });
        line.extend_from_slice(text);
        line.push(b'\n');
        if self.size > 0 && self.size + line.len() as u64 > self.max_size {
            self.rotate()?;
        }
        if let Some(f) = self.file.as_mut() {
            f.write_all(&line)?;
            self.size += line.len() as u64;
        }
        Ok(())
    }
}

/// Splits a byte stream into CRI log records (full lines `F`, long or trailing
/// fragments `P`/`F`), fed chunk by chunk.
#[derive(Default)]
pub(crate) struct LineBuffer {
    pending: Vec<u8>,
}

impl LineBuffer {
    /// Feed `data`; complete records go to `writer` as `stream`.
    pub(crate) fn feed(&mut self, data: &[u8], stream: &str, writer: &mut LogWriter) {
        self.pending.extend_from_slice(data);
        let mut start = 0;
        while let Some(pos) = self.pending[start..].iter().position(|b| *b == b'\n') {
            let mut line = &self.pending[start..start + pos];
            while line.len() > MAX_LINE {
                emit(writer, stream, false, &line[..MAX_LINE]);
                line = &line[MAX_LINE..];
            }
            emit(writer, stream, true, line);
            start += pos + 1;
        }
        self.pending.drain(..start);
        while self.pending.len() >= MAX_LINE {
            emit(writer, stream, false, &self.pending[..MAX_LINE]);
            self.pending.drain(..MAX_LINE);
        }
    }

    /// End of stream: write what is left as a full record.
    pub(crate) fn finish(&mut self, stream: &str, writer: &mut LogWriter) {
        if !self.pending.is_empty() {
            emit(writer, stream, true, &self.pending);
            self.pending.clear();
        }
    }
}

fn emit(writer: &mut LogWriter, stream: &str, full: bool, text: &[u8]) {
    if let Err(e) = writer.record(stream, full, text) {
        tracing::warn!(error = %e, "writing container log");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// Copy everything from `input` into `writer` as records of `stream` until EOF.
    fn pump(mut input: impl Read, stream: &str, writer: &mut LogWriter) {
        let mut buf = vec![0u8; MAX_LINE];
        let mut lines = LineBuffer::default();
        loop {
            match input.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => lines.feed(&buf[..n], stream, writer),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        lines.finish(stream, writer);
    }

    #[test]
    fn writes_cri_records_and_partial_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.log");
        let mut w = LogWriter::open(&path, 1 << 20, 3).unwrap();
        let long = vec![b'x'; MAX_LINE + 5];
        let mut input = b"hello\nworld\n".to_vec();
        input.extend_from_slice(&long);
        input.extend_from_slice(b"\ntail");
        pump(&input[..], "stdout", &mut w);
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5);
        let parts: Vec<&str> = lines[0].splitn(4, ' ').collect();
        assert!(chrono::DateTime::parse_from_rfc3339(parts[0]).is_ok());
        assert_eq!(&parts[1..], ["stdout", "F", "hello"]);
        assert!(lines[2].contains(" stdout P "));
        assert!(lines[3].ends_with(" stdout F xxxxx"));
        assert!(lines[4].ends_with(" stdout F tail"));
    }

    #[test]
    fn rotates_by_size_and_keeps_n_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.log");
        let mut w = LogWriter::open(&path, 200, 3).unwrap();
        for i in 0..40 {
            w.record("stderr", true, format!("line {i}").as_bytes())
                .unwrap();
        }
        assert!(path.exists());
        assert!(dir.path().join("0.log.1").exists());
        assert!(dir.path().join("0.log.2").exists());
        assert!(!dir.path().join("0.log.3").exists());
        assert!(std::fs::metadata(&path).unwrap().len() <= 200);
    }
}
