//! HTTP clients per registry host: rustls with the ring provider only (never aws-lc), system roots
//! plus `ca_file`, optional client certificate, optional `insecure_skip_verify`.

use std::sync::{Arc, OnceLock};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::CertificateDer;
use rustls::RootCertStore;

use crate::registries::TlsConfig;

use super::RegistryError;

fn provider() -> Arc<CryptoProvider> {
    static P: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    P.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// The system trust roots, loaded once.
fn system_roots() -> &'static RootCertStore {
    static R: OnceLock<RootCertStore> = OnceLock::new();
    R.get_or_init(|| {
        let mut roots = RootCertStore::empty();
        let found = rustls_native_certs::load_native_certs();
        let (added, _ignored) = roots.add_parsable_certificates(found.certs);
        tracing::debug!(added, "loaded system trust roots");
        roots
    })
}

fn read_pem_certs(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, RegistryError> {
    let bytes = std::fs::read(path)
        .map_err(|e| RegistryError::Tls(format!("reading {}: {e}", path.display())))?;
    rustls_pemfile::certs(&mut bytes.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| RegistryError::Tls(format!("parsing {}: {e}", path.display())))
}

/// Builds an HTTP client for one host.
pub fn build_client(tls: Option<&TlsConfig>) -> Result<reqwest::Client, RegistryError> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| RegistryError::Tls(e.to_string()))?;
    let insecure = tls.is_some_and(|t| t.insecure_skip_verify);
    let builder = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(skiff_tls::AcceptAnyServerCert::new(
                provider(),
            )))
    } else {
        let mut roots = system_roots().clone();
        if let Some(ca) = tls.and_then(|t| t.ca_file.as_deref()) {
            for cert in read_pem_certs(ca)? {
                roots
                    .add(cert)
                    .map_err(|e| RegistryError::Tls(format!("CA in {}: {e}", ca.display())))?;
            }
        }
        builder.with_root_certificates(roots)
    };
    let mut config = match tls.and_then(|t| t.cert_file.as_deref().zip(t.key_file.as_deref())) {
        Some((cert, key)) => {
            let chain = read_pem_certs(cert)?;
            let key_bytes = std::fs::read(key)
                .map_err(|e| RegistryError::Tls(format!("reading {}: {e}", key.display())))?;
            let key_der = rustls_pemfile::private_key(&mut key_bytes.as_slice())
                .map_err(|e| RegistryError::Tls(format!("parsing {}: {e}", key.display())))?
                .ok_or_else(|| {
                    RegistryError::Tls(format!("no private key in {}", key.display()))
                })?;
            builder
                .with_client_auth_cert(chain, key_der)
                .map_err(|e| RegistryError::Tls(e.to_string()))?
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .connect_timeout(std::time::Duration::from_secs(15))
        .user_agent(concat!("skiff/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| RegistryError::Tls(e.to_string()))
}
