//! ContainerStatus and ListContainers: a container's CRI state comes from its record's
//! phase and, once started, from the exit record its monitor writes.

use k8s_cri::v1::{Container, ContainerFilter, ContainerStatus, ImageSpec};

use crate::error::RuntimeError;
use crate::runtime::Runtime;
use crate::state::{now_ns, read_json, ContainerPhase, ContainerRecord, ExitRecord};

/// CRI container states.
const CREATED: i32 = 0;
const RUNNING: i32 = 1;
const EXITED: i32 = 2;

impl Runtime {
    /// The exit record of a started container, if it has exited.
    pub(crate) fn exit_of(&self, rec: &ContainerRecord) -> Option<ExitRecord> {
        if rec.phase != ContainerPhase::Started {
            return None;
        }
        // An exit is final: remember it instead of re-reading the file on every list.
        if let Some(e) = self.exits.lock().ok().and_then(|m| m.get(&rec.id).cloned()) {
            return Some(e);
        }
        if let Ok(Some(e)) = read_json::<ExitRecord>(&self.layout.exit_file(&rec.id)) {
            if let Ok(mut exits) = self.exits.lock() {
                exits.insert(rec.id.clone(), e.clone());
            }
            return Some(e);
        }
        // Monitor and container both gone without a record: report an unknown exit.
        let pid_alive = rec.pid.is_some_and(|p| self.sys.process_alive(p, 0));
        let monitor_alive = rec
            .monitor_pid
            .is_some_and(|p| self.sys.process_alive(p, 0));
        if !pid_alive && !monitor_alive {
            return Some(ExitRecord {
                exit_code: 255,
                finished_at: now_ns(),
                oom_killed: false,
            });
        }
        None
    }

    fn state_of(&self, rec: &ContainerRecord) -> (i32, Option<ExitRecord>) {
        match rec.phase {
            ContainerPhase::Created => (CREATED, None),
            ContainerPhase::Started => match self.exit_of(rec) {
                Some(e) => (EXITED, Some(e)),
                None => (RUNNING, None),
            },
        }
    }

    /// ContainerStatus.
    pub(crate) fn container_status(&self, id: &str) -> Result<ContainerStatus, RuntimeError> {
        let rec = self.container(id)?;
        let (state, exit) = self.state_of(&rec);
        let (reason, message) = match (&exit, &rec.start_error) {
            (Some(_), Some(err)) => ("StartError".to_string(), err.clone()),
            (Some(e), None) if e.oom_killed => ("OOMKilled".to_string(), String::new()),
            (Some(e), None) if e.exit_code == 0 => ("Completed".to_string(), String::new()),
            (Some(_), None) => ("Error".to_string(), String::new()),
            (None, _) => (String::new(), String::new()),
        };
        Ok(ContainerStatus {
            id: rec.id.clone(),
            metadata: rec.config.metadata.clone(),
            state,
            created_at: rec.created_at,
            started_at: rec.started_at,
            finished_at: exit.as_ref().map(|e| e.finished_at).unwrap_or(0),
            exit_code: exit.as_ref().map(|e| e.exit_code).unwrap_or(0),
            image: Some(ImageSpec {
                image: rec.image_name.clone(),
                ..Default::default()
            }),
            image_ref: rec.image_id.clone(),
            reason,
            message,
            labels: rec.config.labels.clone(),
            annotations: rec.config.annotations.clone(),
            mounts: rec.config.mounts.clone(),
            log_path: rec.log_path.clone(),
            resources: rec
                .config
                .linux
                .as_ref()
                .map(|l| k8s_cri::v1::ContainerResources {
                    linux: l.resources.clone(),
                    windows: None,
                }),
            image_id: rec.image_id.clone(),
            user: None,
        })
    }

    /// ListContainers.
    pub(crate) fn list_containers(
        &self,
        filter: Option<&ContainerFilter>,
    ) -> Result<Vec<Container>, RuntimeError> {
        let all: Vec<_> = self.lock_containers()?.values().cloned().collect();
        let mut out = Vec::new();
        for rec in all {
            // Cheap filters first: the state costs file and /proc reads per container,
            // and the kubelet lists per pod (quadratic in pods otherwise).
            if let Some(f) = filter {
                if !f.id.is_empty() && !rec.id.starts_with(&f.id) {
                    continue;
                }
                if !f.pod_sandbox_id.is_empty() && !rec.sandbox_id.starts_with(&f.pod_sandbox_id) {
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
            let (state, _) = self.state_of(&rec);
            if filter.is_some_and(|f| f.state.as_ref().is_some_and(|s| s.state != state)) {
                continue;
            }
            out.push(Container {
                id: rec.id.clone(),
                pod_sandbox_id: rec.sandbox_id.clone(),
                metadata: rec.config.metadata.clone(),
                image: Some(ImageSpec {
                    image: rec.image_name.clone(),
                    ..Default::default()
                }),
                image_ref: rec.image_id.clone(),
                state,
                created_at: rec.created_at,
                labels: rec.config.labels.clone(),
                annotations: rec.config.annotations.clone(),
                image_id: rec.image_id.clone(),
            });
        }
        out.sort_by_key(|c| c.created_at);
        Ok(out)
    }
}
