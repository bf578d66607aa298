//! `registries.yaml` (the k3s format): registry mirrors with rewrites, and per-registry auth and
//! TLS; turns a reference into the ordered list of endpoints to try.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::reference::Reference;

/// Why `registries.yaml` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid YAML of the expected shape.
    #[error("parsing {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The YAML error.
        source: serde_yaml::Error,
    },
    /// A mirror endpoint or rewrite rule is malformed.
    #[error("registries.yaml: {0}")]
    Invalid(String),
}

/// The parsed `registries.yaml`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct RegistriesConfig {
    /// Mirrors per registry host (`docker.io`, `gcr.io`, or `*` for every registry).
    #[serde(default)]
    pub mirrors: BTreeMap<String, Mirror>,
    /// Auth and TLS per registry or mirror host (`host[:port]`).
    #[serde(default)]
    pub configs: BTreeMap<String, RegistryConfig>,
}

/// Mirror endpoints for one registry.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Mirror {
    /// Endpoint URLs tried in order (`http://127.0.0.1:5000`, `https://mirror.example/v2`).
    #[serde(default)]
    pub endpoint: Vec<String>,
    /// Repository rewrites applied when pulling from a mirror endpoint: regex → replacement (`$1`).
    #[serde(default)]
    pub rewrite: BTreeMap<String, String>,
}

/// Auth and TLS settings for one host.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct RegistryConfig {
    /// Credentials.
    #[serde(default)]
    pub auth: Option<AuthConfig>,
    /// TLS client settings.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
}

/// Registry credentials as k3s accepts them.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct AuthConfig {
    /// User name for basic auth / token requests.
    #[serde(default)]
    pub username: String,
    /// Password.
    #[serde(default)]
    pub password: String,
    /// base64(`user:password`), an alternative to username/password.
    #[serde(default)]
    pub auth: String,
    /// OAuth2 refresh token for the token endpoint.
    #[serde(default, alias = "identity_token")]
    pub identitytoken: String,
    /// A ready bearer token.
    #[serde(default)]
    pub token: String,
}

/// TLS client settings for one host.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct TlsConfig {
    /// Extra CA bundle (PEM).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Client certificate (PEM).
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    /// Client key (PEM).
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// Skip server certificate verification.
    #[serde(default)]
    pub insecure_skip_verify: bool,
}

/// One place to pull a reference from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `scheme://host[:port][/prefix]`, without the trailing `/v2`.
    pub base_url: String,
    /// `host[:port]`, the key for `configs`.
    pub host: String,
    /// The repository to ask for here (after rewrites).
    pub repository: String,
    /// False for the registry's own (upstream) endpoint.
    pub mirror: bool,
}

impl RegistriesConfig {
    /// Reads a `registries.yaml`; a missing file is the empty configuration.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        Self::parse(&text).map_err(|e| match e {
            ConfigError::Parse { source, .. } => ConfigError::Parse {
                path: path.to_path_buf(),
                source,
            },
            other => other,
        })
    }

    /// Parses YAML text.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        let cfg: Self = serde_yaml::from_str(text).map_err(|source| ConfigError::Parse {
            path: PathBuf::from("registries.yaml"),
            source,
        })?;
        for (registry, m) in &cfg.mirrors {
            for pattern in m.rewrite.keys() {
                regex::Regex::new(pattern).map_err(|e| {
                    ConfigError::Invalid(format!("mirror {registry}: rewrite {pattern:?}: {e}"))
                })?;
            }
            for e in &m.endpoint {
                split_url(e).ok_or_else(|| {
                    ConfigError::Invalid(format!("mirror {registry}: bad endpoint {e:?}"))
                })?;
            }
        }
        Ok(cfg)
    }

    /// The settings for a host (`host:port` first, then the bare host).
    pub fn config_for(&self, host: &str) -> Option<&RegistryConfig> {
        self.configs.get(host).or_else(|| {
            let bare = host.rsplit_once(':').map_or(host, |(h, _)| h);
            self.configs.get(bare)
        })
    }

    /// Endpoints for a reference: its mirrors in order, then the registry itself.
    pub fn endpoints(&self, reference: &Reference) -> Vec<Endpoint> {
        let mut out = Vec::new();
        let mirror = self
            .mirrors
            .get(&reference.registry)
            .or_else(|| self.mirrors.get("*"));
        if let Some(m) = mirror {
            let repository = rewrite(&m.rewrite, &reference.repository);
            for e in &m.endpoint {
                if let Some((base_url, host)) = split_url(e) {
                    out.push(Endpoint {
                        base_url,
                        host,
                        repository: repository.clone(),
                        mirror: true,
                    });
                }
            }
        }
        let upstream = self.upstream(&reference.registry);
        if !out.iter().any(|e| e.base_url == upstream.0) {
            out.push(Endpoint {
                base_url: upstream.0,
                host: upstream.1,
                repository: reference.repository.clone(),
                mirror: false,
            });
        }
        out
    }

    /// The registry's own endpoint: https, except plain http for loopback hosts without TLS settings.
    fn upstream(&self, registry: &str) -> (String, String) {
        if registry == crate::reference::DEFAULT_REGISTRY {
            return (
                "https://registry-1.docker.io".into(),
                "registry-1.docker.io".into(),
            );
        }
        let bare = registry.rsplit_once(':').map_or(registry, |(h, _)| h);
        let loopback = bare == "localhost"
            || bare.starts_with("127.")
            || bare == "[::1]"
            || bare
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        let has_tls = self.config_for(registry).is_some_and(|c| c.tls.is_some());
        let scheme = if loopback && !has_tls {
            "http"
        } else {
            "https"
        };
        (format!("{scheme}://{registry}"), registry.to_string())
    }
}

/// Applies the first matching rewrite (rules in key order).
fn rewrite(rules: &BTreeMap<String, String>, repository: &str) -> String {
    for (pattern, replacement) in rules {
        if let Ok(re) = regex::Regex::new(pattern) {
            if re.is_match(repository) {
                return re.replace(repository, replacement.as_str()).into_owned();
            }
        }
    }
    repository.to_string()
}

/// `http://h:5000/v2/` → (`http://h:5000`, `h:5000`); no scheme means https.
fn split_url(url: &str) -> Option<(String, String)> {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) if s == "http" || s == "https" => (s, r),
        Some(_) => return None,
        None => ("https", url),
    };
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if host.is_empty() {
        return None;
    }
    let path = path.trim_end_matches('/');
    let path = path.strip_suffix("/v2").unwrap_or(path);
    Some((format!("{scheme}://{host}{path}"), host.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = r#"
mirrors:
  gcr.io:
    endpoint: ["http://127.0.0.1:5000", "https://mirror.example/v2/"]
    rewrite:
      "^google-samples/(.*)": "mirrored/$1"
  "*":
    endpoint: ["http://10.0.0.1:5000"]
configs:
  "127.0.0.1:5000":
    auth: {username: u, password: p}
  mirror.example:
    tls: {insecure_skip_verify: true}
"#;

    #[test]
    fn mirrors_then_upstream_with_rewrite() {
        let cfg = RegistriesConfig::parse(YAML).unwrap();
        let r = Reference::parse("gcr.io/google-samples/kubernetes-bootcamp:v1").unwrap();
        let eps = cfg.endpoints(&r);
        let urls: Vec<_> = eps
            .iter()
            .map(|e| (e.base_url.as_str(), e.repository.as_str()))
            .collect();
        assert_eq!(
            urls,
            vec![
                ("http://127.0.0.1:5000", "mirrored/kubernetes-bootcamp"),
                ("https://mirror.example", "mirrored/kubernetes-bootcamp"),
                ("https://gcr.io", "google-samples/kubernetes-bootcamp"),
            ]
        );
        assert!(cfg.config_for("127.0.0.1:5000").unwrap().auth.is_some());
        assert!(
            cfg.config_for("mirror.example:443")
                .unwrap()
                .tls
                .as_ref()
                .unwrap()
                .insecure_skip_verify
        );
    }

    #[test]
    fn wildcard_and_defaults() {
        let cfg = RegistriesConfig::parse(YAML).unwrap();
        let eps = cfg.endpoints(&Reference::parse("busybox").unwrap());
        assert_eq!(eps[0].base_url, "http://10.0.0.1:5000");
        assert_eq!(eps[1].base_url, "https://registry-1.docker.io");
        let plain = RegistriesConfig::default();
        let eps = plain.endpoints(&Reference::parse("127.0.0.1:5001/x:y").unwrap());
        assert_eq!(
            eps,
            vec![Endpoint {
                base_url: "http://127.0.0.1:5001".into(),
                host: "127.0.0.1:5001".into(),
                repository: "x".into(),
                mirror: false
            }]
        );
        assert!(RegistriesConfig::parse("mirrors: {a: {endpoint: ['ftp://x']}}").is_err());
    }
}
