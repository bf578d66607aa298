//! A small OCI distribution client: resolves manifests and streams blobs from one endpoint
//! (registry or mirror), answering auth challenges; one HTTP client per host for its TLS settings.

pub mod auth;
mod session;
mod tls;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub use auth::Credentials;
pub use session::Session;

use crate::registries::{Endpoint, RegistriesConfig};

/// Why a registry request failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// Connection or protocol error.
    #[error("GET {url}: {source}")]
    Http {
        /// The URL.
        url: String,
        /// The error.
        source: reqwest::Error,
    },
    /// Not found (manifest unknown, blob unknown, repository unknown).
    #[error("{url}: not found")]
    NotFound {
        /// The URL.
        url: String,
    },
    /// An unexpected HTTP status.
    #[error("{url}: HTTP {status}: {body}")]
    Status {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// Credentials missing or refused.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// The token endpoint failed.
    #[error("token endpoint {realm}: {detail}")]
    Token {
        /// The realm URL.
        realm: String,
        /// What happened.
        detail: String,
    },
    /// TLS setup failed.
    #[error("TLS: {0}")]
    Tls(String),
    /// A manifest body was larger than allowed.
    #[error("{url}: manifest larger than {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit.
        limit: usize,
    },
}

/// Registry access with per-host clients, built from `registries.yaml`.
#[derive(Clone)]
pub struct RegistryClient {
    config: Arc<RegistriesConfig>,
    clients: Arc<Mutex<HashMap<String, reqwest::Client>>>,
}

impl RegistryClient {
    /// A client for this configuration.
    pub fn new(config: RegistriesConfig) -> Self {
        Self {
            config: Arc::new(config),
            clients: Arc::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RegistriesConfig {
        &self.config
    }

    fn http_for(&self, host: &str) -> Result<reqwest::Client, RegistryError> {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = clients.get(host) {
            return Ok(c.clone());
        }
        let tls = self.config.config_for(host).and_then(|c| c.tls.as_ref());
        let c = tls::build_client(tls)?;
        clients.insert(host.to_string(), c.clone());
        Ok(c)
    }

    /// Credentials for an endpoint: explicit ones win, then `registries.yaml`.
    pub fn credentials(
        &self,
        endpoint: &Endpoint,
        explicit: Option<&crate::RegistryAuth>,
    ) -> Credentials {
        if let Some(a) = explicit {
            if a.username == crate::types::IDENTITY_TOKEN_USER {
                return Credentials::IdentityToken(a.password.clone());
            }
            if !a.username.is_empty() || !a.password.is_empty() {
                return Credentials::Basic {
                    username: a.username.clone(),
                    password: a.password.clone(),
                };
            }
        }
        let Some(auth) = self
            .config
            .config_for(&endpoint.host)
            .and_then(|c| c.auth.as_ref())
        else {
            return Credentials::Anonymous;
        };
        if !auth.identitytoken.is_empty() {
            return Credentials::IdentityToken(auth.identitytoken.clone());
        }
        if !auth.token.is_empty() {
            return Credentials::Bearer(auth.token.clone());
        }
        if !auth.username.is_empty() {
            return Credentials::Basic {
                username: auth.username.clone(),
                password: auth.password.clone(),
            };
        }
        if !auth.auth.is_empty() {
            use base64::Engine;
            if let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(auth.auth.trim())
            {
                let s = String::from_utf8_lossy(&decoded).into_owned();
                if let Some((u, p)) = s.split_once(':') {
                    return Credentials::Basic {
                        username: u.to_string(),
                        password: p.to_string(),
                    };
                }
            }
        }
        Credentials::Anonymous
    }

    /// A session for one repository at one endpoint.
    pub fn session(
        &self,
        endpoint: &Endpoint,
        creds: Credentials,
    ) -> Result<Session, RegistryError> {
        Ok(Session::new(
            self.http_for(&endpoint.host)?,
            endpoint.clone(),
            creds,
        ))
    }
}
