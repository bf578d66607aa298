//! PodSandboxStatus and ListPodSandbox: a sandbox is ready while it is not stopped and its
//! infra process (the same one, not a reused PID) lives.

use k8s_cri::v1::{
    LinuxPodSandboxStatus, Namespace, PodSandbox, PodSandboxFilter, PodSandboxNetworkStatus,
    PodSandboxStatus,
};

use super::namespace_options;
use crate::error::RuntimeError;
use crate::runtime::Runtime;
use crate::state::SandboxRecord;

/// CRI PodSandboxState values.
const SANDBOX_READY: i32 = 0;
const SANDBOX_NOTREADY: i32 = 1;

impl Runtime {
    /// Whether the sandbox is ready (not stopped, infra alive).
    pub(crate) fn sandbox_ready(&self, rec: &SandboxRecord) -> bool {
        !rec.stopped
            && rec
                .infra_pid
                .is_some_and(|p| self.sys.process_alive(p, rec.infra_start))
    }

    fn sandbox_state(&self, rec: &SandboxRecord) -> i32 {
        if self.sandbox_ready(rec) {
            SANDBOX_READY
        } else {
            SANDBOX_NOTREADY
        }
    }

    /// PodSandboxStatus.
    pub(crate) fn sandbox_status(&self, id: &str) -> Result<PodSandboxStatus, RuntimeError> {
        let rec = self.sandbox(id)?;
        let ns = namespace_options(&rec.config);
        Ok(PodSandboxStatus {
            id: rec.id.clone(),
            metadata: rec.config.metadata.clone(),
            state: self.sandbox_state(&rec),
            created_at: rec.created_at,
            network: Some(PodSandboxNetworkStatus {
                ip: rec.ip.clone().unwrap_or_default(),
                additional_ips: Vec::new(),
            }),
            linux: Some(LinuxPodSandboxStatus {
                namespaces: Some(Namespace { options: Some(ns) }),
            }),
            labels: rec.config.labels.clone(),
            annotations: rec.config.annotations.clone(),
            runtime_handler: rec.runtime_handler.clone(),
        })
    }

    /// ListPodSandbox.
    pub(crate) fn list_sandboxes(
        &self,
        filter: Option<&PodSandboxFilter>,
    ) -> Result<Vec<PodSandbox>, RuntimeError> {
        let all: Vec<_> = self.lock_sandboxes()?.values().cloned().collect();
        let mut out = Vec::new();
        for rec in all {
            // Cheap filters first: the state costs a /proc read per sandbox.
            if let Some(f) = filter {
                if !f.id.is_empty() && !rec.id.starts_with(&f.id) {
                    continue;
                }
                if !f
                    .label_selector
                    .iter()
                    .all(|(k, v)| rec.config.labels.get(k) == Some(v))
                {
                    continue;
                }
            }
            let state = self.sandbox_state(&rec);
            if filter.is_some_and(|f| f.state.as_ref().is_some_and(|s| s.state != state)) {
                continue;
            }
            out.push(PodSandbox {
                id: rec.id.clone(),
                metadata: rec.config.metadata.clone(),
                state,
                created_at: rec.created_at,
                labels: rec.config.labels.clone(),
                annotations: rec.config.annotations.clone(),
                runtime_handler: rec.runtime_handler.clone(),
            });
        }
        out.sort_by_key(|s| s.created_at);
        Ok(out)
    }
}
