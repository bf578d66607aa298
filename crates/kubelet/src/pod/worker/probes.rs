//! Probes as the worker sees them: one task per probe of each running app
//! container (start the missing ones, drop those of instances that
//! stopped), and their readiness and startup verdicts for the status.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Container, Pod};

use super::Worker;
use crate::pod::probe::{self, Kind, ProbeTask};
use crate::pod::runtime::{ContainerInfo, RuntimePod, State};
use crate::pod::status::Notes;

impl Worker {
    /// Start probe tasks for running containers, drop those of gone ones.
    pub(super) fn update_probes(&mut self, pod: &Arc<Pod>, rt: &RuntimePod) {
        let spec = pod.spec.clone().unwrap_or_default();
        let pod_ip = if spec.host_network == Some(true) {
            self.shared.host_ip.clone()
        } else {
            rt.sandbox()
                .and_then(|s| s.ips.first().cloned())
                .unwrap_or_default()
        };
        let running: HashMap<&str, &ContainerInfo> = rt
            .containers
            .iter()
            .filter(|c| c.state == State::Running)
            .map(|c| (c.id.as_str(), c))
            .collect();
        self.probes.retain(|(id, _), h| {
            let keep = running.contains_key(id.as_str());
            if !keep {
                h.abort();
            }
            keep
        });
        for c in &spec.containers {
            let newest = rt
                .containers
                .iter()
                .find(|i| i.name == c.name && i.state == State::Running);
            let Some(info) = newest else {
                continue;
            };
            self.start_probes(pod, c, info, &pod_ip);
        }
    }

    /// Start the probe tasks of one running instance that are not running
    /// yet (a liveness or startup probe that already decided is not restarted).
    fn start_probes(&mut self, pod: &Arc<Pod>, c: &Container, info: &ContainerInfo, pod_ip: &str) {
        let has_startup = c.startup_probe.is_some();
        for (kind, probe) in [
            (Kind::Startup, c.startup_probe.clone()),
            (Kind::Liveness, c.liveness_probe.clone()),
            (Kind::Readiness, c.readiness_probe.clone()),
        ] {
            let Some(probe) = probe else { continue };
            let key = (info.id.clone(), kind);
            let decided =
                self.shared.probes.get(&info.id, kind).is_some() && kind != Kind::Readiness;
            if self.probes.contains_key(&key) || decided {
                continue;
            }
            let task = ProbeTask {
                pod: pod.clone(),
                container: c.clone(),
                init: false,
                container_id: info.id.clone(),
                pod_ip: pod_ip.to_string(),
                kind,
                probe,
            };
            let h = tokio::spawn(probe::run(
                task,
                self.shared.cri.clone(),
                self.shared.probes.clone(),
                self.shared.events.clone(),
                self.kick_tx.clone(),
                has_startup && kind != Kind::Startup,
            ));
            self.probes.insert(key, h);
        }
    }

    /// What the status needs besides the runtime: waiting reasons and probe verdicts.
    pub(super) fn notes(&self, rt: &RuntimePod) -> Notes {
        let mut n = Notes {
            waiting: self.waiting.clone(),
            host_ip: self.shared.cfg.node_ip.to_string(),
            ..Default::default()
        };
        for c in &rt.containers {
            if let Some(r) = self.shared.probes.get(&c.id, Kind::Readiness) {
                n.readiness.insert(c.id.clone(), r);
            }
            if let Some(r) = self.shared.probes.get(&c.id, Kind::Startup) {
                n.startup.insert(c.id.clone(), r);
            }
        }
        n
    }
}
