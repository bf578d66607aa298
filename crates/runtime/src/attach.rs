//! The protocol of a monitor's attach socket: length-prefixed frames
//! (`kind: u8`, `len: u32` big endian, payload). The runtime sends stdin data,
//! "close stdin" and terminal resizes; the monitor sends the container's output.

/// Runtime → monitor: bytes for the container's stdin.
pub(crate) const STDIN: u8 = 0;
/// Runtime → monitor: the attacher closed its stdin (closes the container's
/// stdin when the container asked for `stdin_once`).
pub(crate) const CLOSE_STDIN: u8 = 1;
/// Runtime → monitor: terminal size, payload `width: u16, height: u16` (big endian).
pub(crate) const RESIZE: u8 = 2;
/// Monitor → runtime: container stdout (and the terminal, for TTY containers).
pub(crate) const STDOUT: u8 = 1;
/// Monitor → runtime: container stderr.
pub(crate) const STDERR: u8 = 2;

/// Largest frame accepted; bigger ones mean a confused peer.
pub(crate) const MAX_FRAME: usize = 1 << 20;

/// Encode one frame.
pub(crate) fn encode(kind: u8, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(5 + data.len());
    v.push(kind);
    v.extend_from_slice(&(data.len() as u32).to_be_bytes());
    v.extend_from_slice(data);
    v
}

/// Encode a resize frame.
pub(crate) fn resize(width: u16, height: u16) -> Vec<u8> {
    let mut p = [0u8; 4];
    p[..2].copy_from_slice(&width.to_be_bytes());
    p[2..].copy_from_slice(&height.to_be_bytes());
    encode(RESIZE, &p)
}

/// Parse a resize payload into (width, height).
pub(crate) fn parse_resize(p: &[u8]) -> Option<(u16, u16)> {
    if p.len() != 4 {
        return None;
    }
    Some((
        u16::from_be_bytes([p[0], p[1]]),
        u16::from_be_bytes([p[2], p[3]]),
    ))
}

/// Incremental frame decoder.
#[derive(Default)]
pub(crate) struct Decoder {
    buf: Vec<u8>,
}

/// A frame that cannot be valid.
#[derive(Debug, thiserror::Error)]
#[error("attach frame of {0} bytes exceeds the limit")]
pub(crate) struct FrameTooLarge(pub usize);

impl Decoder {
    /// Append received bytes.
    pub(crate) fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete frame, if any.
    pub(crate) fn next_frame(&mut self) -> Result<Option<(u8, Vec<u8>)>, FrameTooLarge> {
        if self.buf.len() < 5 {
            return Ok(None);
        }
        let len = u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]]) as usize;
        if len > MAX_FRAME {
            return Err(FrameTooLarge(len));
        }
        if self.buf.len() < 5 + len {
            return Ok(None);
        }
        let kind = self.buf[0];
        let data = self.buf[5..5 + len].to_vec();
        self.buf.drain(..5 + len);
        Ok(Some((kind, data)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_split_frames() {
        let mut wire = encode(STDIN, b"hello");
        wire.extend(resize(80, 24));
        wire.extend(encode(CLOSE_STDIN, b""));
        let mut d = Decoder::default();
        let mut got = Vec::new();
        for chunk in wire.chunks(3) {
            d.push(chunk);
            while let Some(f) = d.next_frame().unwrap() {
                got.push(f);
            }
        }
        assert_eq!(got[0], (STDIN, b"hello".to_vec()));
        assert_eq!(got[1].0, RESIZE);
        assert_eq!(parse_resize(&got[1].1), Some((80, 24)));
        assert_eq!(got[2], (CLOSE_STDIN, Vec::new()));
        let mut bad = Decoder::default();
        bad.push(&[0, 0xff, 0xff, 0xff, 0xff]);
        assert!(bad.next_frame().is_err());
    }
}
