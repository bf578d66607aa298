//! The workload executor we hand libcontainer, for containers and execs alike.
//!
//! - Environment in spec order: libcontainer collects `process.env` into a `HashMap`
//!   and sets it in hash order, so `env` inside a container printed its variables in a
//!   different order every run. runc keeps the spec's order (and appends what it adds,
//!   like `HOME`); so do we.
//! - Seccomp for execs: libcontainer's tenant (exec) builder leaves the container's
//!   filter out, so it is loaded here before the exec'd program starts.

use std::collections::HashMap;

use libcontainer::oci_spec::runtime::{LinuxSeccomp, Spec};
use libcontainer::workload::default::DefaultExecutor;
use libcontainer::workload::{
    Executor, ExecutorError, ExecutorSetEnvsError, ExecutorValidationError,
};

/// Executes like libcontainer's default executor, with the fixes above.
#[derive(Clone, Debug, Default)]
pub(crate) struct SkiffExecutor {
    /// Variable names in the order the spec lists them.
    env_order: Vec<String>,
    /// Filter to load before exec (execs only; containers get theirs from libcontainer).
    seccomp: Option<LinuxSeccomp>,
}

impl SkiffExecutor {
    /// For a process whose spec environment is `env` (`NAME=value` entries).
    pub(crate) fn new(env: &[String], seccomp: Option<LinuxSeccomp>) -> SkiffExecutor {
        SkiffExecutor {
            env_order: env_order(env),
            seccomp,
        }
    }
}

/// Names of `NAME=value` entries, first occurrence first.
fn env_order(env: &[String]) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(env.len());
    for entry in env {
        let name = entry.split_once('=').map_or(entry.as_str(), |(n, _)| n);
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    names
}

/// `envs` as an ordered list: `order` first, then the rest sorted by name.
fn ordered(order: &[String], mut envs: HashMap<String, String>) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(envs.len());
    for name in order {
        if let Some(value) = envs.remove(name) {
            out.push((name.clone(), value));
        }
    }
    let mut rest: Vec<_> = envs.into_iter().collect();
    rest.sort();
    out.extend(rest);
    out
}

impl Executor for SkiffExecutor {
    fn exec(&self, spec: &Spec) -> Result<(), ExecutorError> {
        if let Some(profile) = &self.seccomp {
            // Without CAP_SYS_ADMIN a filter loads only under no_new_privs: set it when the
            // first attempt is refused (stricter than runc, never looser).
            if libcontainer::seccomp::initialize_seccomp(profile).is_err() {
                crate::sys::process::set_no_new_privs()
                    .map_err(|e| ExecutorError::Other(format!("no_new_privs: {e}")))?;
                libcontainer::seccomp::initialize_seccomp(profile)
                    .map_err(|e| ExecutorError::Other(format!("seccomp: {e}")))?;
            }
        }
        DefaultExecutor {}.exec(spec)
    }

    fn validate(&self, spec: &Spec) -> Result<(), ExecutorValidationError> {
        DefaultExecutor {}.validate(spec)
    }

    fn setup_envs(&self, envs: HashMap<String, String>) -> Result<(), ExecutorSetEnvsError> {
        // This runs in the container's single-threaded init: the host's variables go.
        for (key, _) in std::env::vars_os() {
            std::env::remove_var(key);
        }
        for (key, value) in ordered(&self.env_order, envs) {
            std::env::set_var(key, value);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_spec_order_and_appends_additions_sorted() {
        let spec = ["PATH=/bin", "Z=1", "A=2", "Z=dup", "NOVALUE"].map(String::from);
        let order = env_order(&spec);
        assert_eq!(order, ["PATH", "Z", "A", "NOVALUE"]);
        let envs: HashMap<String, String> = [
            ("A", "2"),
            ("HOME", "/root"),
            ("PATH", "/bin"),
            ("Z", "1"),
            ("B", "x"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let names: Vec<String> = ordered(&order, envs).into_iter().map(|(k, _)| k).collect();
        assert_eq!(names, ["PATH", "Z", "A", "B", "HOME"]);
    }
}
