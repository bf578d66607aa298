//! rustls configurations: the HTTPS listener (client certificates signed by the cluster
//! CA are optional: a bearer token also authenticates) and the client side used to reach
//! kubelets.

use skiff_http::tls::{certs, key, provider, ClientCerts};
pub use skiff_http::TlsError;
use std::sync::Arc;

/// The listener's configuration: HTTP/1.1, client certificates optional.
pub fn server_config(
    ca_pem: &str,
    cert_pem: &str,
    key_pem: &str,
) -> Result<rustls::ServerConfig, TlsError> {
    skiff_http::tls::server_config(ca_pem, cert_pem, key_pem, ClientCerts::Optional)
}

/// Client configuration for kubelets, presenting the kubelet-client certificate.
pub fn kubelet_client_config(
    cert_pem: &str,
    key_pem: &str,
) -> Result<rustls::ClientConfig, TlsError> {
    let provider = provider();
    let cfg = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(skiff_tls::AcceptAnyServerCert::new(provider)))
        .with_client_auth_cert(certs(cert_pem)?, key(key_pem)?)?;
    Ok(cfg)
}
