//! Shared server state handed to every request.

use crate::pki::Pki;
use crate::watchcache::WatchCaches;
use skiff_store::Store;
use std::sync::Arc;

/// Everything a request handler may use.
pub struct State {
    /// The backing store (timed).
    pub store: Arc<dyn Store>,
    /// Cluster CA and server certificates.
    pub pki: Pki,
    /// The admin bearer token.
    pub token: String,
    /// `host:port` advertised in `/api`.
    pub server_address: String,
    /// Service CIDR (e.g. 10.43.0.0/16); its first address is the `kubernetes` Service's.
    pub service_cidr: crate::ipalloc::Cidr,
    /// The per-kind rules of create, update and delete.
    pub strategies: crate::strategy::Strategies,
    /// Shared watches.
    pub watches: WatchCaches,
    /// TLS client configuration for kubelets (client cert of the API server).
    pub kubelet_tls: Arc<rustls::ClientConfig>,
}
