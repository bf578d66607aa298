//! Which low-level runtime handles a container: the configured one creates new
//! containers; an existing container is handled by the runtime whose state format its
//! OCI state directory holds. So a node restarted with another `--oci-runtime` (for
//! instance after the default moved from runc to youki) still execs into, starts,
//! stops and removes the containers the previous runtime created.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use crate::config::OciRuntimeKind;
use crate::error::RuntimeError;
use crate::oci::{BinaryRuntime, CreateOptions, CreateStdio, ExecOptions, OciError, OciRuntime};

/// Build the runtime for `kind`, keeping state under `state_root`.
pub(crate) fn build(
    kind: &OciRuntimeKind,
    state_root: &Path,
    helper_exe: &Path,
) -> Result<Arc<dyn OciRuntime>, RuntimeError> {
    match kind {
        #[cfg(feature = "youki")]
        OciRuntimeKind::Youki => Ok(Arc::new(crate::youki::YoukiRuntime {
            state_root: state_root.to_path_buf(),
            helper_exe: helper_exe.to_path_buf(),
        })),
        #[cfg(not(feature = "youki"))]
        OciRuntimeKind::Youki => {
            let _ = helper_exe;
            Err(RuntimeError::InvalidArgument(
                "this build has no youki support (cargo feature `youki`)".into(),
            ))
        }
        kind => Ok(Arc::new(BinaryRuntime::new(kind, state_root))),
    }
}

/// The state layouts the runtimes leave in `<state_root>/<id>/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum StateFormat {
    /// runc (and runc-compatible binaries): `state.json` with `init_process_pid`.
    Runc,
    /// crun: a `status` file.
    Crun,
    /// libcontainer: the OCI state document (`status`, `pid`) as `state.json`.
    Youki,
}

impl StateFormat {
    fn of_kind(kind: &OciRuntimeKind) -> StateFormat {
        match kind {
            OciRuntimeKind::Runc | OciRuntimeKind::Binary(_) => StateFormat::Runc,
            OciRuntimeKind::Crun => StateFormat::Crun,
            OciRuntimeKind::Youki => StateFormat::Youki,
        }
    }

    fn kind(self) -> OciRuntimeKind {
        match self {
            StateFormat::Runc => OciRuntimeKind::Runc,
            StateFormat::Crun => OciRuntimeKind::Crun,
            StateFormat::Youki => OciRuntimeKind::Youki,
        }
    }

    /// The format of container `id`'s state, if it has any.
    fn detect(state_root: &Path, id: &str) -> Option<StateFormat> {
        let dir = state_root.join(id);
        if let Ok(text) = std::fs::read_to_string(dir.join("state.json")) {
            let doc: serde_json::Value = serde_json::from_str(&text).ok()?;
            if doc.get("init_process_pid").is_some() {
                return Some(StateFormat::Runc);
            }
            if doc.get("status").is_some() && doc.get("pid").is_some() {
                return Some(StateFormat::Youki);
            }
            return None;
        }
        dir.join("status").is_file().then_some(StateFormat::Crun)
    }
}

/// An `OciRuntime` that routes every per-container verb by the container's state.
pub(crate) struct PerContainer {
    configured: Arc<dyn OciRuntime>,
    configured_format: StateFormat,
    state_root: PathBuf,
    helper_exe: PathBuf,
    others: Mutex<HashMap<StateFormat, Arc<dyn OciRuntime>>>,
}

impl PerContainer {
    /// New containers go to `kind`.
    pub(crate) fn new(
        kind: &OciRuntimeKind,
        state_root: &Path,
        helper_exe: &Path,
    ) -> Result<PerContainer, RuntimeError> {
        Ok(PerContainer {
            configured: build(kind, state_root, helper_exe)?,
            configured_format: StateFormat::of_kind(kind),
            state_root: state_root.to_path_buf(),
            helper_exe: helper_exe.to_path_buf(),
            others: Mutex::default(),
        })
    }

    /// The runtime for container `id`: the one that created it, else the configured.
    fn for_id(&self, id: &str) -> Arc<dyn OciRuntime> {
        let format = match StateFormat::detect(&self.state_root, id) {
            Some(f) if f != self.configured_format => f,
            _ => return self.configured.clone(),
        };
        let Ok(mut others) = self.others.lock() else {
            return self.configured.clone();
        };
        if let Some(rt) = others.get(&format) {
            return rt.clone();
        }
        match build(&format.kind(), &self.state_root, &self.helper_exe) {
            Ok(rt) => {
                tracing::info!(container = id, runtime = %rt.name(), "container was created by another OCI runtime; using that one for it");
                others.insert(format, rt.clone());
                rt
            }
            Err(err) => {
                tracing::warn!(container = id, "no runtime for its state format: {err}");
                self.configured.clone()
            }
        }
    }
}

impl OciRuntime for PerContainer {
    fn name(&self) -> String {
        self.configured.name()
    }

    fn command(&self, args: &[String]) -> Command {
        self.configured.command(args)
    }

    fn helper_args(&self) -> Vec<String> {
        self.configured.helper_args()
    }

    fn helper_args_for(&self, id: &str) -> Vec<String> {
        self.for_id(id).helper_args()
    }

    fn exec_fifo(&self, id: &str) -> Option<PathBuf> {
        self.for_id(id).exec_fifo(id)
    }

    fn create(&self, id: &str, bundle: &Path, opts: &CreateOptions) -> Command {
        self.configured.create(id, bundle, opts)
    }

    fn create_container(
        &self,
        id: &str,
        bundle: &Path,
        opts: &CreateOptions,
        stdio: CreateStdio,
    ) -> Result<(), OciError> {
        self.configured.create_container(id, bundle, opts, stdio)
    }

    fn start_in_process(&self, id: &str) -> Option<std::io::Result<()>> {
        self.for_id(id).start_in_process(id)
    }

    fn start(&self, id: &str) -> Command {
        self.for_id(id).start(id)
    }

    fn exec(&self, id: &str, argv: &[String], opts: &ExecOptions) -> Command {
        self.for_id(id).exec(id, argv, opts)
    }

    fn delete(&self, id: &str) -> Result<(), OciError> {
        self.for_id(id).delete(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state_dir(root: &Path, id: &str, file: &str, body: &str) {
        std::fs::create_dir_all(root.join(id)).unwrap();
        std::fs::write(root.join(id).join(file), body).unwrap();
    }

    #[test]
    fn detects_each_runtimes_state_format() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        state_dir(r, "a", "state.json", r#"{"id":"a","init_process_pid":42}"#);
        state_dir(
            r,
            "b",
            "state.json",
            r#"{"id":"b","status":"running","pid":7}"#,
        );
        state_dir(r, "c", "status", "42");
        state_dir(r, "d", "state.json", "not json");
        assert_eq!(StateFormat::detect(r, "a"), Some(StateFormat::Runc));
        assert_eq!(StateFormat::detect(r, "b"), Some(StateFormat::Youki));
        assert_eq!(StateFormat::detect(r, "c"), Some(StateFormat::Crun));
        assert_eq!(StateFormat::detect(r, "d"), None);
        assert_eq!(StateFormat::detect(r, "missing"), None);
    }

    #[test]
    fn routes_a_container_to_the_runtime_that_created_it() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        state_dir(
            r,
            "old",
            "state.json",
            r#"{"id":"old","init_process_pid":42}"#,
        );
        state_dir(r, "crunned", "status", "42");
        let sel = PerContainer::new(&OciRuntimeKind::Crun, r, Path::new("/bin/skiff")).unwrap();
        let prog = |c: Command| c.get_program().to_string_lossy().into_owned();
        // crun runs under `unshare` (hybrid cgroup work-around); runc directly.
        assert_eq!(prog(sel.start("old")), "runc");
        assert_eq!(prog(sel.start("crunned")), "unshare");
        assert_eq!(prog(sel.start("new")), "unshare");
        assert!(sel.helper_args_for("old").contains(&"runc".to_string()));
        assert_eq!(sel.name(), "crun");
    }
}
