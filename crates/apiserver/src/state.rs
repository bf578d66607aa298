//! Shared server state handed to every request.

use crate::pki::Pki;
use crate::watchcache::WatchCaches;
use skiff_store::Store;
use std::sync::Arc;

/// Everything a request handler may use.
pub struct State {
    /// The backing store.
    pub store: Arc<dyn Store>,
    /// Cluster CA and server certificates.
    pub pki: Pki,
    /// The admin bearer token.
    pub token: String,
    /// `host:port` advertised in `/api`.
    pub server_address: String,
    /// Service CIDR (e.g. 10.43.0.0/16) for ClusterIP allocation.
    pub service_cidr: crate::ipalloc::Cidr,
    /// Tolerations admission adds to new pods.
    pub default_tolerations: crate::admission::DefaultTolerations,
    /// Serializes ClusterIP and NodePort allocation.
    pub alloc_lock: tokio::sync::Mutex<()>,
    /// Shared watches.
    pub watches: WatchCaches,
    /// TLS client configuration for kubelets (client cert of the API server).
    pub kubelet_tls: Arc<rustls::ClientConfig>,
}
