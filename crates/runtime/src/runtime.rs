//! The runtime core: configuration, in-memory tables of sandboxes and containers
//! backed by the on-disk records, and recovery of both after a restart.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use crate::cni::Cni;
use crate::config::RuntimeConfig;
use crate::error::RuntimeError;
use crate::oci::OciRuntime;
use crate::state::{read_json, write_json, ContainerRecord, Layout, SandboxRecord};
use crate::streaming::Streams;
use crate::sys::Syscall;

/// Shared state of the runtime.
pub(crate) struct Runtime {
    /// Configuration.
    pub(crate) cfg: RuntimeConfig,
    /// State layout.
    pub(crate) layout: Layout,
    /// Low-level runtime.
    pub(crate) oci: Arc<dyn OciRuntime>,
    /// CNI network (pod CIDR may change at run time).
    pub(crate) cni: RwLock<Cni>,
    /// Sandboxes by id.
    pub(crate) sandboxes: Mutex<HashMap<String, SandboxRecord>>,
    /// Containers by id.
    pub(crate) containers: Mutex<HashMap<String, ContainerRecord>>,
    /// Exit records already read (final), by container id.
    pub(crate) exits: Mutex<HashMap<String, crate::state::ExitRecord>>,
    /// Streaming sessions.
    pub(crate) streams: Arc<Streams>,
    /// The kernel.
    pub(crate) sys: Arc<dyn Syscall>,
}

impl Runtime {
    /// Build the runtime and load what the previous incarnation left on disk.
    pub(crate) fn open(
        cfg: RuntimeConfig,
        streams: Arc<Streams>,
    ) -> Result<Arc<Self>, RuntimeError> {
        Self::open_with(cfg, streams, Arc::new(crate::sys::Host))
    }

    /// [`Runtime::open`] over the given kernel (a fake in unit tests).
    pub(crate) fn open_with(
        cfg: RuntimeConfig,
        streams: Arc<Streams>,
        sys: Arc<dyn Syscall>,
    ) -> Result<Arc<Self>, RuntimeError> {
        let layout = Layout {
            root: cfg.root.clone(),
        };
        layout
            .ensure()
            .map_err(RuntimeError::io(format!("creating {}", cfg.root.display())))?;
        let oci: Arc<dyn OciRuntime> = Arc::new(crate::oci_select::PerContainer::new(
            &cfg.oci_runtime,
            &layout.oci_state_dir(),
            &cfg.helper_exe,
        )?);
        let cni = Cni {
            bin_dir: cfg.cni_bin_dir.clone(),
            settings: cfg.cni_conf.clone(),
            ipam_dir: layout.ipam_dir(),
        };
        let rt = Runtime {
            cfg,
            layout,
            oci,
            cni: RwLock::new(cni),
            sandboxes: Mutex::default(),
            containers: Mutex::default(),
            exits: Mutex::default(),
            streams,
            sys,
        };
        rt.recover()?;
        Ok(Arc::new(rt))
    }

    fn recover(&self) -> Result<(), RuntimeError> {
        let mut sandboxes = HashMap::new();
        for dir in list_dirs(&self.layout.root.join("sandboxes")) {
            if let Some(rec) = read_json::<SandboxRecord>(&dir.join("sandbox.json"))? {
                sandboxes.insert(rec.id.clone(), rec);
            }
        }
        let mut containers = HashMap::new();
        for dir in list_dirs(&self.layout.root.join("containers")) {
            if let Some(rec) = read_json::<ContainerRecord>(&dir.join("container.json"))? {
                containers.insert(rec.id.clone(), rec);
            }
        }
        for dir in list_dirs(&self.layout.trash_dir()) {
            if let Err(e) = crate::rootfs::remove(&*self.sys, &dir) {
                tracing::warn!(error = %e, "emptying trash");
            }
        }
        tracing::info!(
            sandboxes = sandboxes.len(),
            containers = containers.len(),
            "recovered runtime state"
        );
        if let Ok(mut s) = self.sandboxes.lock() {
            *s = sandboxes;
        }
        if let Ok(mut c) = self.containers.lock() {
            *c = containers;
        }
        Ok(())
    }

    /// A sandbox by id (or unique id prefix).
    pub(crate) fn sandbox(&self, id: &str) -> Result<SandboxRecord, RuntimeError> {
        let map = self.lock_sandboxes()?;
        find_prefixed(&map, id)
            .cloned()
            .ok_or_else(|| RuntimeError::NotFound(format!("sandbox {id:?}")))
    }

    /// A container by id (or unique id prefix).
    pub(crate) fn container(&self, id: &str) -> Result<ContainerRecord, RuntimeError> {
        let map = self.lock_containers()?;
        find_prefixed(&map, id)
            .cloned()
            .ok_or_else(|| RuntimeError::NotFound(format!("container {id:?}")))
    }

    /// Persist and cache a sandbox record.
    pub(crate) fn save_sandbox(&self, rec: &SandboxRecord) -> Result<(), RuntimeError> {
        let dir = self.layout.sandbox_dir(&rec.id);
        write_json(&dir.join("sandbox.json"), rec)?;
        self.lock_sandboxes()?.insert(rec.id.clone(), rec.clone());
        Ok(())
    }

    /// Persist and cache a container record.
    pub(crate) fn save_container(&self, rec: &ContainerRecord) -> Result<(), RuntimeError> {
        let dir = self.layout.container_dir(&rec.id);
        write_json(&dir.join("container.json"), rec)?;
        self.lock_containers()?.insert(rec.id.clone(), rec.clone());
        Ok(())
    }

    /// Containers of one sandbox.
    pub(crate) fn containers_of(
        &self,
        sandbox_id: &str,
    ) -> Result<Vec<ContainerRecord>, RuntimeError> {
        Ok(self
            .lock_containers()?
            .values()
            .filter(|c| c.sandbox_id == sandbox_id)
            .cloned()
            .collect())
    }

    /// Lock the sandbox table.
    pub(crate) fn lock_sandboxes(
        &self,
    ) -> Result<std::sync::MutexGuard<'_, HashMap<String, SandboxRecord>>, RuntimeError> {
        self.sandboxes
            .lock()
            .map_err(|_| RuntimeError::Internal("sandbox table poisoned".into()))
    }

    /// Lock the container table.
    pub(crate) fn lock_containers(
        &self,
    ) -> Result<std::sync::MutexGuard<'_, HashMap<String, ContainerRecord>>, RuntimeError> {
        self.containers
            .lock()
            .map_err(|_| RuntimeError::Internal("container table poisoned".into()))
    }

    /// Current CNI configuration.
    pub(crate) fn cni(&self) -> Cni {
        self.cni
            .read()
            .map(|c| c.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }
}

fn find_prefixed<'a, T>(map: &'a HashMap<String, T>, id: &str) -> Option<&'a T> {
    if let Some(v) = map.get(id) {
        return Some(v);
    }
    if id.is_empty() {
        return None;
    }
    let mut it = map.iter().filter(|(k, _)| k.starts_with(id));
    match (it.next(), it.next()) {
        (Some((_, v)), None) => Some(v),
        _ => None,
    }
}

fn list_dirs(dir: &std::path::Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default()
}
