//! Image references: parsing and normalisation by the Docker reference rules containerd and the
//! kubelet use (`distribution/reference`'s `ParseDockerRef`): `busybox` →
//! `docker.io/library/busybox:latest`, a digest wins over a tag, registry hosts may carry ports.

mod grammar;
#[cfg(test)]
mod tests;

use std::fmt;

use grammar::{is_domain, is_path, is_reference_digest, is_tag};

/// The registry host used when a reference names none.
pub const DEFAULT_REGISTRY: &str = "docker.io";
/// The Docker Hub host older references name; it means [`DEFAULT_REGISTRY`].
const LEGACY_DEFAULT_REGISTRY: &str = "index.docker.io";
/// The namespace of Docker Hub's official images (`busybox` → `library/busybox`).
const OFFICIAL_NAMESPACE: &str = "library/";
/// The tag used when a reference names neither tag nor digest.
pub const DEFAULT_TAG: &str = "latest";
/// Longest repository path accepted (registry host not counted).
const MAX_PATH_LEN: usize = 255;

/// Why a reference could not be parsed.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    /// The reference is empty or contains characters an image reference cannot hold.
    #[error("invalid image reference {reference:?}: {reason}")]
    Invalid {
        /// The reference as given.
        reference: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// A parsed, normalised image reference: always either tagged or pinned by digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// Registry host (with port), e.g. `docker.io`, `127.0.0.1:5000`, `[fc00::1]:5000`.
    pub registry: String,
    /// Repository path inside the registry, e.g. `library/busybox`.
    pub repository: String,
    /// Tag: the one given, `latest` when neither tag nor digest was, none with a digest.
    pub tag: Option<String>,
    /// Manifest digest (`sha256:<hex>`), if the reference pins one.
    pub digest: Option<String>,
}

impl Reference {
    /// Parses and normalises a reference (`ParseDockerRef`): the registry defaults to
    /// `docker.io` (`index.docker.io` is the same), single names there go under `library/`,
    /// `latest` is the default tag, and a reference with both a tag and a digest keeps the digest.
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        let bad = |reason| ReferenceError::Invalid {
            reference: input.to_string(),
            reason,
        };
        if input.is_empty() {
            return Err(bad("empty reference"));
        }
        if input.len() == 64
            && input
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(bad(
                "a 64-digit hexadecimal string is an id, not a repository",
            ));
        }
        let (rest, digest) = match input.split_once('@') {
            Some((r, d)) if is_reference_digest(d) => (r, Some(d.to_string())),
            Some(_) => return Err(bad("invalid digest")),
            None => (input, None),
        };
        // A tag follows the last ':' that comes after the last '/'.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        if tag.is_some_and(|t| !is_tag(t)) {
            return Err(bad("invalid tag"));
        }
        let (registry, repository) = split_registry(name);
        if repository.to_ascii_lowercase() != repository {
            return Err(bad("repository name must be lowercase"));
        }
        if !is_domain(&registry) {
            return Err(bad("invalid registry host"));
        }
        if !is_path(&repository) {
            return Err(bad(
                "repository must be lowercase letters and digits joined by '.', '_', '__' or dashes",
            ));
        }
        if repository.len() > MAX_PATH_LEN {
            return Err(bad("repository name longer than 255 characters"));
        }
        let tag = match (&digest, tag) {
            (Some(_), _) => None,
            (None, Some(t)) => Some(t.to_string()),
            (None, None) => Some(DEFAULT_TAG.to_string()),
        };
        Ok(Self {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// `registry/repository`, e.g. `docker.io/library/busybox`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The tag or digest to ask the registry for (digest wins).
    pub fn object(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or(DEFAULT_TAG)
    }

    /// `name:tag` when a tag is present, else `None`.
    pub fn tagged(&self) -> Option<String> {
        self.tag.as_ref().map(|t| format!("{}:{t}", self.name()))
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name())?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// Splits a name (no tag or digest) into registry and repository path: the first component
/// names a registry when it is `localhost`, holds a `.` or a `:`, or has upper-case letters
/// (repository paths cannot); Docker Hub's single names go under `library/`.
fn split_registry(name: &str) -> (String, String) {
    let (registry, path) = match name.split_once('/') {
        Some((first, path)) if first == LEGACY_DEFAULT_REGISTRY => (DEFAULT_REGISTRY, path),
        Some((first, path))
            if first == "localhost"
                || first.contains(['.', ':'])
                || first.bytes().any(|b| b.is_ascii_uppercase()) =>
        {
            (first, path)
        }
        _ => (DEFAULT_REGISTRY, name),
    };
    let path = if registry == DEFAULT_REGISTRY && !path.contains('/') {
        format!("{OFFICIAL_NAMESPACE}{path}")
    } else {
        path.to_string()
    };
    (registry.to_string(), path)
}

/// Normalises a reference: `busybox` → `docker.io/library/busybox:latest`,
/// `busybox:1@sha256:…` → `docker.io/library/busybox@sha256:…`.
pub fn normalize_reference(r: &str) -> Result<String, ReferenceError> {
    Ok(Reference::parse(r)?.to_string())
}

/// True for a content digest this store keeps: `sha256:<64 lowercase hex>`.
pub fn is_digest(d: &str) -> bool {
    d.strip_prefix("sha256:")
        .is_some_and(|h| grammar::is_hex(h, 64))
}
