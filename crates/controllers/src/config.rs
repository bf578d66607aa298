//! The controller manager's configuration and top-level error.

use std::time::Duration;

/// How the controllers run.
#[derive(Debug, Clone)]
pub struct ControllersConfig {
    /// A node whose Lease is not renewed for this long becomes Ready=Unknown (40s).
    pub node_monitor_grace_period: Duration,
    /// How often node health is checked (5s).
    pub node_monitor_period: Duration,
    /// Toleration the API server adds for not-ready (300s); informational here.
    pub default_not_ready_toleration_seconds: i64,
    /// Toleration the API server adds for unreachable (300s); informational here.
    pub default_unreachable_toleration_seconds: i64,
    /// Evict pods from NoExecute-tainted nodes.
    pub pod_eviction: bool,
    /// Hold the `kube-system/kube-controller-manager` Lease first.
    pub leader_elect: bool,
    /// Identity in the Lease and in Events.
    pub identity: String,
    /// Pod network; each node gets a /24 of it as `spec.podCIDR`.
    pub cluster_cidr: String,
}

impl Default for ControllersConfig {
    fn default() -> Self {
        ControllersConfig {
            node_monitor_grace_period: Duration::from_secs(40),
            node_monitor_period: Duration::from_secs(5),
            default_not_ready_toleration_seconds: 300,
            default_unreachable_toleration_seconds: 300,
            pod_eviction: true,
            leader_elect: false,
            identity: "skiff-controller-manager".into(),
            cluster_cidr: "10.42.0.0/16".into(),
        }
    }
}

/// Why the controller manager stopped.
#[derive(Debug, thiserror::Error)]
pub enum ControllersError {
    /// Leader election failed or leadership was lost.
    #[error(transparent)]
    Leader(#[from] skiff_client::LeaderError),
}
