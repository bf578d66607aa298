//! A minimal SPDY/3.1 frame codec, as much as port-forwarding needs: parse the client's
//! frames from a byte stream (header blocks inflated with the SPDY/3 dictionary) and build
//! the server's frames (SYN_REPLY, data, RST_STREAM, PING, WINDOW_UPDATE, GOAWAY).

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The SPDY/3 header compression dictionary (from the SPDY/3 specification).
const DICTIONARY: &[u8] = include_bytes!("spdy3_dict.bin");

const SYN_STREAM: u16 = 1;
const SYN_REPLY: u16 = 2;
const RST_STREAM: u16 = 3;
const PING: u16 = 6;
const GOAWAY: u16 = 7;
const WINDOW_UPDATE: u16 = 9;
/// Flag of the last frame of a stream's direction.
pub const FLAG_FIN: u8 = 0x01;
/// Largest frame payload accepted (SPDY's limit is 2^24 - 1).
const MAX_FRAME: usize = 1 << 24;

/// A frame could not be parsed.
#[derive(Debug, thiserror::Error)]
pub enum SpdyError {
    /// The bytes are not SPDY/3.
    #[error("spdy: {0}")]
    Protocol(String),
    /// A header block did not inflate.
    #[error("spdy header block: {0}")]
    Compression(String),
}

/// A frame from the client.
#[derive(Debug, PartialEq)]
pub enum Frame {
    /// A new stream with its headers (names lower case).
    SynStream {
        /// Stream id.
        id: u32,
        /// Header pairs.
        headers: Vec<(String, String)>,
    },
    /// Stream data; `fin` ends the client's side.
    Data {
        /// Stream id.
        id: u32,
        /// Flags (FLAG_FIN).
        fin: bool,
        /// Payload.
        data: Vec<u8>,
    },
    /// The client reset a stream.
    Reset(u32),
    /// A ping to echo.
    Ping(u32),
    /// The client is going away.
    GoAway,
    /// Anything else (settings, window updates, headers): ignored.
    Other,
}

/// Per-connection codec state (the header compression contexts span the connection).
pub struct Codec {
    buf: Vec<u8>,
    inflate: Decompress,
    deflate: Compress,
}

impl Default for Codec {
    fn default() -> Self {
        Codec {
            buf: Vec::new(),
            inflate: Decompress::new(true),
            deflate: Compress::new(Compression::fast(), true),
        }
    }
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

impl Codec {
    /// Adds bytes read from the connection.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete frame, if one has arrived.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, SpdyError> {
        if self.buf.len() < 8 {
            return Ok(None);
        }
        let len = (usize::from(self.buf[5]) << 16)
            | (usize::from(self.buf[6]) << 8)
            | usize::from(self.buf[7]);
        if len >= MAX_FRAME {
            return Err(SpdyError::Protocol(format!("frame of {len} bytes")));
        }
        if self.buf.len() < 8 + len {
            return Ok(None);
        }
        let frame: Vec<u8> = self.buf.drain(..8 + len).collect();
        let flags = frame[4];
        let payload = &frame[8..];
        if frame[0] & 0x80 == 0 {
            return Ok(Some(Frame::Data {
                id: be32(&frame[..4]) & 0x7fff_ffff,
                fin: flags & FLAG_FIN != 0,
                data: payload.to_vec(),
            }));
        }
        let version = u16::from_be_bytes([frame[0] & 0x7f, frame[1]]);
        if version != 3 {
            return Err(SpdyError::Protocol(format!("version {version}")));
        }
        let short = || SpdyError::Protocol("short control frame".into());
        Ok(Some(match u16::from_be_bytes([frame[2], frame[3]]) {
            SYN_STREAM => {
                if payload.len() < 10 {
                    return Err(short());
                }
                let id = be32(payload) & 0x7fff_ffff;
                let headers = self.headers(&payload[10..])?;
                Frame::SynStream { id, headers }
            }
            RST_STREAM if payload.len() >= 8 => Frame::Reset(be32(payload) & 0x7fff_ffff),
            PING if payload.len() >= 4 => Frame::Ping(be32(payload)),
            GOAWAY => Frame::GoAway,
            RST_STREAM | PING => return Err(short()),
            _ => Frame::Other,
        }))
    }

    /// Inflates and parses one header block.
    fn headers(&mut self, block: &[u8]) -> Result<Vec<(String, String)>, SpdyError> {
        let mut out = Vec::with_capacity(block.len() * 4 + 64);
        let mut input = block;
        loop {
            out.reserve(256);
            let before = self.inflate.total_in();
            let res = self
                .inflate
                .decompress_vec(input, &mut out, FlushDecompress::Sync);
            let used = (self.inflate.total_in() - before) as usize;
            input = &input[used..];
            match res {
                Ok(Status::Ok) | Ok(Status::BufError) if input.is_empty() => break,
                Ok(Status::StreamEnd) => break,
                Ok(_) => {}
                Err(e) if e.needs_dictionary().is_some() => {
                    self.inflate
                        .set_dictionary(DICTIONARY)
                        .map_err(|e| SpdyError::Compression(e.to_string()))?;
                }
                Err(e) => return Err(SpdyError::Compression(e.to_string())),
            }
        }
        parse_pairs(&out)
    }

    /// Compresses a header block with the connection's context.
    fn header_block(&mut self, headers: &[(&str, &str)]) -> Vec<u8> {
        let mut raw = Vec::new();
        raw.extend_from_slice(&(headers.len() as u32).to_be_bytes());
        for (k, v) in headers {
            raw.extend_from_slice(&(k.len() as u32).to_be_bytes());
            raw.extend_from_slice(k.as_bytes());
            raw.extend_from_slice(&(v.len() as u32).to_be_bytes());
            raw.extend_from_slice(v.as_bytes());
        }
        let mut out = Vec::with_capacity(raw.len() + 64);
        let mut input = raw.as_slice();
        loop {
            out.reserve(64);
            let before = self.deflate.total_in();
            let res = self
                .deflate
                .compress_vec(input, &mut out, FlushCompress::Sync);
            input = &input[(self.deflate.total_in() - before) as usize..];
            // Done once all input is in and the sync flush fitted (spare room left).
            if res.is_err() || (input.is_empty() && out.len() < out.capacity()) {
                break;
            }
        }
        out
    }

    /// SYN_REPLY accepting stream `id` (no headers).
    pub fn syn_reply(&mut self, id: u32) -> Vec<u8> {
        let block = self.header_block(&[]);
        let mut payload = id.to_be_bytes().to_vec();
        payload.extend_from_slice(&block);
        control(SYN_REPLY, 0, &payload)
    }
}

fn parse_pairs(raw: &[u8]) -> Result<Vec<(String, String)>, SpdyError> {
    let bad = || SpdyError::Protocol("malformed header block".into());
    let mut pos = 0usize;
    let mut take = |n: usize| -> Result<&[u8], SpdyError> {
        let s = raw.get(pos..pos + n).ok_or_else(bad)?;
        pos += n;
        Ok(s)
    };
    let count = be32(take(4)?);
    let mut pairs = Vec::new();
    for _ in 0..count {
        let n = be32(take(4)?) as usize;
        let name = String::from_utf8_lossy(take(n)?).to_lowercase();
        let n = be32(take(4)?) as usize;
        let value = String::from_utf8_lossy(take(n)?).to_string();
        pairs.push((name, value));
    }
    Ok(pairs)
}

fn control(kind: u16, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x80, 0x03];
    f.extend_from_slice(&kind.to_be_bytes());
    f.push(flags);
    f.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    f.extend_from_slice(payload);
    f
}

/// A data frame on stream `id`.
pub fn data(id: u32, fin: bool, payload: &[u8]) -> Vec<u8> {
    let mut f = (id & 0x7fff_ffff).to_be_bytes().to_vec();
    f.push(if fin { FLAG_FIN } else { 0 });
    f.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    f.extend_from_slice(payload);
    f
}

/// The answer to PING `id`.
pub fn ping(id: u32) -> Vec<u8> {
    control(PING, 0, &id.to_be_bytes())
}

/// WINDOW_UPDATE giving stream `id` `delta` more bytes.
pub fn window_update(id: u32, delta: u32) -> Vec<u8> {
    let mut p = id.to_be_bytes().to_vec();
    p.extend_from_slice(&delta.to_be_bytes());
    control(WINDOW_UPDATE, 0, &p)
}

/// GOAWAY (status OK).
pub fn goaway(last: u32) -> Vec<u8> {
    let mut p = last.to_be_bytes().to_vec();
    p.extend_from_slice(&0u32.to_be_bytes());
    control(GOAWAY, 0, &p)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client-side SYN_STREAM built the way Go's framer does (zlib with the dictionary).
    fn client_syn(deflate: &mut Compress, id: u32, headers: &[(&str, &str)]) -> Vec<u8> {
        let mut raw = (headers.len() as u32).to_be_bytes().to_vec();
        for (k, v) in headers {
            raw.extend_from_slice(&(k.len() as u32).to_be_bytes());
            raw.extend_from_slice(k.as_bytes());
            raw.extend_from_slice(&(v.len() as u32).to_be_bytes());
            raw.extend_from_slice(v.as_bytes());
        }
        let mut block = Vec::with_capacity(1024);
        deflate
            .compress_vec(&raw, &mut block, FlushCompress::Sync)
            .unwrap();
        let mut payload = id.to_be_bytes().to_vec();
        payload.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        payload.extend_from_slice(&block);
        control(SYN_STREAM, 0, &payload)
    }

    #[test]
    fn parses_dictionary_compressed_streams_split_anywhere() {
        let mut deflate = Compress::new(Compression::default(), true);
        deflate.set_dictionary(DICTIONARY).unwrap();
        let mut bytes = client_syn(
            &mut deflate,
            1,
            &[
                ("streamType", "error"),
                ("port", "8080"),
                ("requestID", "0"),
            ],
        );
        bytes.extend(client_syn(
            &mut deflate,
            3,
            &[("streamType", "data"), ("port", "8080"), ("requestID", "0")],
        ));
        bytes.extend(data(3, true, b"GET /"));
        bytes.extend(ping(7));
        let mut codec = Codec::default();
        let mut frames = vec![];
        for chunk in bytes.chunks(5) {
            codec.push(chunk);
            while let Some(f) = codec.next_frame().unwrap() {
                frames.push(f);
            }
        }
        assert_eq!(frames.len(), 4, "{frames:?}");
        let Frame::SynStream { id, headers } = &frames[1] else {
            panic!("{frames:?}")
        };
        assert_eq!(*id, 3);
        assert!(headers.contains(&("streamtype".into(), "data".into())));
        assert_eq!(
            frames[2],
            Frame::Data {
                id: 3,
                fin: true,
                data: b"GET /".to_vec()
            }
        );
        assert_eq!(frames[3], Frame::Ping(7));
    }

    #[test]
    fn syn_replies_inflate_as_empty_header_blocks() {
        let mut codec = Codec::default();
        let mut inflate = Decompress::new(true);
        for id in [1u32, 3] {
            let reply = codec.syn_reply(id);
            assert_eq!(&reply[..4], &[0x80, 3, 0, 2]);
            assert_eq!(be32(&reply[8..12]), id);
            let mut out = Vec::with_capacity(64);
            inflate
                .decompress_vec(&reply[12..], &mut out, FlushDecompress::Sync)
                .unwrap();
            assert_eq!(out, vec![0, 0, 0, 0]);
        }
    }
}
