//! One repository at one endpoint: GET manifests and blobs, answering a 401 challenge once and
//! reusing the resulting `Authorization` header for later requests.

use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::{Response, StatusCode};
use sha2::{Digest, Sha256};
use tokio::sync::RwLock;

use super::auth::{self, Credentials};
use super::RegistryError;
use crate::registries::Endpoint;

/// The largest manifest accepted (containerd uses 4 MiB).
const MAX_MANIFEST: usize = 4 << 20;

/// A fetched manifest or index.
#[derive(Clone, Debug)]
pub struct FetchedManifest {
    /// The raw body (its sha256 is `digest`).
    pub bytes: Vec<u8>,
    /// The `Content-Type` header.
    pub content_type: String,
    /// `sha256:<hex>` of the body.
    pub digest: String,
}

/// Requests against one repository at one endpoint.
pub struct Session {
    http: reqwest::Client,
    endpoint: Endpoint,
    creds: Credentials,
    authorization: RwLock<Option<String>>,
}

impl Session {
    pub(super) fn new(http: reqwest::Client, endpoint: Endpoint, creds: Credentials) -> Self {
        Self {
            http,
            endpoint,
            creds,
            authorization: RwLock::new(None),
        }
    }

    /// The endpoint this session talks to.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    fn url(&self, kind: &str, object: &str) -> String {
        format!(
            "{}/v2/{}/{kind}/{object}",
            self.endpoint.base_url, self.endpoint.repository
        )
    }

    /// GET with auth; on 401 answers the challenge once and retries.
    async fn get(&self, url: &str, accept: Option<&str>) -> Result<Response, RegistryError> {
        let mut answered = false;
        loop {
            let mut req = self.http.get(url);
            if let Some(a) = accept {
                req = req.header(ACCEPT, a);
            }
            if let Some(h) = self.authorization.read().await.as_deref() {
                req = req.header(AUTHORIZATION, h);
            }
            let resp = req.send().await.map_err(|source| RegistryError::Http {
                url: url.to_string(),
                source,
            })?;
            if resp.status() != StatusCode::UNAUTHORIZED {
                return Ok(resp);
            }
            if answered {
                return Err(RegistryError::Unauthorized(format!(
                    "{url}: credentials refused"
                )));
            }
            let challenge = resp
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .and_then(auth::parse_challenge)
                .ok_or_else(|| {
                    RegistryError::Unauthorized(format!(
                        "{url}: 401 without a usable WWW-Authenticate"
                    ))
                })?;
            let header = auth::authorize(
                &self.http,
                &challenge,
                &self.creds,
                &self.endpoint.repository,
            )
            .await?;
            *self.authorization.write().await = Some(header);
            answered = true;
        }
    }

    async fn check(url: &str, resp: Response) -> Result<Response, RegistryError> {
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        if status == StatusCode::NOT_FOUND {
            return Err(RegistryError::NotFound {
                url: url.to_string(),
            });
        }
        let body = resp.text().await.unwrap_or_default();
        Err(RegistryError::Status {
            url: url.to_string(),
            status: status.as_u16(),
            body: body.chars().take(300).collect(),
        })
    }

    /// Fetches a manifest or index by tag or digest.
    pub async fn manifest(
        &self,
        object: &str,
        accept: &str,
    ) -> Result<FetchedManifest, RegistryError> {
        let url = self.url("manifests", object);
        let resp = Self::check(&url, self.get(&url, Some(accept)).await?).await?;
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        if resp
            .content_length()
            .is_some_and(|n| n as usize > MAX_MANIFEST)
        {
            return Err(RegistryError::TooLarge {
                url,
                limit: MAX_MANIFEST,
            });
        }
        let mut bytes = Vec::new();
        let mut resp = resp;
        while let Some(chunk) = resp.chunk().await.map_err(|source| RegistryError::Http {
            url: url.clone(),
            source,
        })? {
            bytes.extend_from_slice(&chunk);
            if bytes.len() > MAX_MANIFEST {
                return Err(RegistryError::TooLarge {
                    url,
                    limit: MAX_MANIFEST,
                });
            }
        }
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(&bytes)));
        Ok(FetchedManifest {
            bytes,
            content_type,
            digest,
        })
    }

    /// Starts streaming a blob; the caller verifies the digest while writing it.
    pub async fn blob(&self, digest: &str) -> Result<Response, RegistryError> {
        let url = self.url("blobs", digest);
        Self::check(&url, self.get(&url, None).await?).await
    }
}
