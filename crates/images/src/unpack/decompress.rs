//! Opens a layer blob as an uncompressed tar stream: gzip, zstd or plain, chosen by media type and
//! confirmed by the blob's magic bytes (the bytes win when they disagree).

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// How a layer is compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// Plain tar.
    None,
    /// gzip (possibly multi-member).
    Gzip,
    /// zstd.
    Zstd,
}

/// The compression a media type announces, if it announces one.
pub fn from_media_type(media_type: &str) -> Option<Compression> {
    if media_type.ends_with("+gzip") || media_type.ends_with(".gzip") {
        Some(Compression::Gzip)
    } else if media_type.ends_with("+zstd") || media_type.ends_with(".zstd") {
        Some(Compression::Zstd)
    } else if media_type.ends_with(".tar") || media_type.ends_with("diff.tar") {
        Some(Compression::None)
    } else {
        None
    }
}

/// The compression the leading bytes show.
pub fn from_magic(head: &[u8]) -> Compression {
    if head.starts_with(&GZIP_MAGIC) {
        Compression::Gzip
    } else if head.starts_with(&ZSTD_MAGIC) {
        Compression::Zstd
    } else {
        Compression::None
    }
}

/// Opens `path` and returns a reader of the uncompressed tar plus the compression found.
pub fn open(path: &Path, media_type: &str) -> std::io::Result<(Box<dyn Read + Send>, Compression)> {
    let reader = BufReader::with_capacity(256 * 1024, File::open(path)?);
    let (r, found) = wrap(reader)?;
    if let Some(announced) = from_media_type(media_type) {
        if announced != found {
            tracing::warn!(
                media_type,
                ?found,
                "layer media type disagrees with its magic bytes; using the bytes"
            );
        }
    }
    Ok((r, found))
}

/// Wraps a buffered reader in the decompressor its leading bytes call for.
pub fn wrap<'a, R: BufRead + Send + 'a>(
    mut reader: R,
) -> std::io::Result<(Box<dyn Read + Send + 'a>, Compression)> {
    let found = from_magic(reader.fill_buf()?);
    let r: Box<dyn Read + Send + 'a> = match found {
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(reader)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(reader)?),
        Compression::None => Box::new(reader),
    };
    Ok((r, found))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects() {
        assert_eq!(from_magic(&[0x1f, 0x8b, 8]), Compression::Gzip);
        assert_eq!(from_magic(&[0x28, 0xb5, 0x2f, 0xfd, 0]), Compression::Zstd);
        assert_eq!(from_magic(b"etc/"), Compression::None);
        assert_eq!(
            from_media_type(crate::manifest::OCI_LAYER_ZSTD),
            Some(Compression::Zstd)
        );
        assert_eq!(
            from_media_type("application/vnd.docker.image.rootfs.diff.tar.gzip"),
            Some(Compression::Gzip)
        );
    }
}
