//! The scheduler's configuration and top-level error.

/// How the scheduler runs.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// Pods with this `spec.schedulerName` are ours (`default-scheduler`).
    pub scheduler_name: String,
    /// Hold the `kube-system/kube-scheduler` Lease before scheduling.
    pub leader_elect: bool,
    /// Identity in the Lease and in Events.
    pub identity: String,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            scheduler_name: "default-scheduler".into(),
            leader_elect: false,
            identity: "skiff-scheduler".into(),
        }
    }
}

/// Why the scheduler stopped.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    /// Leader election failed or leadership was lost.
    #[error(transparent)]
    Leader(#[from] skiff_client::LeaderError),
}
