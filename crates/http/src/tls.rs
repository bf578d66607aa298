//! rustls configuration of an HTTPS listener: the serving certificate, and client
//! certificates verified against a CA (optional for the API server, required by the
//! kubelet). HTTP/1.1 only: upgrades (exec, attach, port-forward) need it.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;

/// A TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM block did not parse.
    #[error("bad PEM: {0}")]
    Pem(String),
    /// rustls refused the configuration.
    #[error("tls: {0}")]
    Rustls(#[from] rustls::Error),
    /// The client verifier could not be built.
    #[error("client verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
}

/// Whether clients must present a certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientCerts {
    /// Clients may present one (else they authenticate otherwise, e.g. with a token).
    Optional,
    /// The handshake fails without one.
    Required,
}

/// The ring provider (installed process-wide when nothing else is).
pub fn provider() -> Arc<CryptoProvider> {
    if CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Parses every certificate of a PEM bundle.
pub fn certs(pem: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    rustls_pemfile::certs(&mut pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem(e.to_string()))
}

/// Parses a private key.
pub fn key(pem: &str) -> Result<PrivateKeyDer<'static>, TlsError> {
    rustls_pemfile::private_key(&mut pem.as_bytes())
        .map_err(|e| TlsError::Pem(e.to_string()))?
        .ok_or_else(|| TlsError::Pem("no private key".into()))
}

/// A listener's configuration: serving `cert_pem`/`key_pem`, client certificates signed by
/// `client_ca_pem`.
pub fn server_config(
    client_ca_pem: &str,
    cert_pem: &str,
    key_pem: &str,
    client_certs: ClientCerts,
) -> Result<rustls::ServerConfig, TlsError> {
    let provider = provider();
    let mut roots = rustls::RootCertStore::empty();
    for c in certs(client_ca_pem)? {
        roots.add(c)?;
    }
    let builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
    let verifier = match client_certs {
        ClientCerts::Optional => builder.allow_unauthenticated().build()?,
        ClientCerts::Required => builder.build()?,
    };
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs(cert_pem)?, key(key_pem)?)?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(cfg)
}
