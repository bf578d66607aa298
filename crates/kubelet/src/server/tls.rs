//! TLS for the node API: the serving certificate, and client certificates that must
//! chain to the client CA (and, checked after the handshake, carry CN
//! kube-apiserver-kubelet-client).

use std::sync::Arc;

use rustls::ServerConfig;
use skiff_http::tls::ClientCerts;

use super::ServerError;

/// The only client identity accepted.
pub const CLIENT_CN: &str = "kube-apiserver-kubelet-client";

/// Build the rustls server config.
pub fn server_config(
    cert_pem: &str,
    key_pem: &str,
    ca_pem: &str,
) -> Result<Arc<ServerConfig>, ServerError> {
    skiff_http::tls::server_config(ca_pem, cert_pem, key_pem, ClientCerts::Required)
        .map(Arc::new)
        .map_err(|e| ServerError::Tls(e.to_string()))
}
