//! cgroup files: removing the directories OCI runtimes leave behind, and reading the
//! accounting files (memory, cpuacct, OOM kills) of the v1 hierarchies (v2 for OOM kills).

use std::path::{Path, PathBuf};

const ROOT: &str = "/sys/fs/cgroup";

/// Directory of cgroup `rel` in the v1 hierarchy of `controller`.
fn dir(controller: &str, rel: &str) -> PathBuf {
    Path::new(ROOT)
        .join(controller)
        .join(rel.trim_start_matches('/'))
}

/// Remove a cgroup directory in every v1 hierarchy (parents the OCI runtime left); a busy
/// one stays.
pub fn remove_cgroup_dirs(rel: &str) {
    remove_dirs(rel)
}

/// See [`remove_cgroup_dirs`].
pub(crate) fn remove_dirs(rel: &str) {
    let Ok(rd) = std::fs::read_dir(ROOT) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path().join(rel.trim_start_matches('/'));
        if p.is_dir() {
            let _ = std::fs::remove_dir(&p);
        }
    }
}

/// A file of cgroup `rel` in `controller` holding one number.
pub(crate) fn read_u64(controller: &str, rel: &str, file: &str) -> Option<u64> {
    std::fs::read_to_string(dir(controller, rel).join(file))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The value of `key` in a `key value` lines file of cgroup `rel` in `controller`.
pub(crate) fn stat_field(controller: &str, rel: &str, file: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(dir(controller, rel).join(file)).ok()?;
    field(&text, key)
}

fn field(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.trim().parse().ok())
}

/// Whether swap accounting (`memory.memsw.*`) is available.
pub(crate) fn memsw_available() -> bool {
    dir("memory", "")
        .join("memory.memsw.limit_in_bytes")
        .exists()
}

/// Whether the memory cgroup `rel` saw an OOM kill (v1 `memory.oom_control`, else v2
/// `memory.events`). Read it before the cgroup is removed.
pub(crate) fn oom_killed(rel: &str) -> bool {
    if rel.is_empty() {
        return false;
    }
    if let Some(n) = stat_field("memory", rel, "memory.oom_control", "oom_kill") {
        return n > 0;
    }
    let v2 = Path::new(ROOT).join(rel.trim_start_matches('/'));
    std::fs::read_to_string(v2.join("memory.events"))
        .ok()
        .and_then(|t| field(&t, "oom_kill"))
        .is_some_and(|n| n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_key_value_fields() {
        let text = "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n";
        assert_eq!(field(text, "oom_kill"), Some(2));
        assert_eq!(field(text, "under_oom"), Some(0));
        assert_eq!(field(text, "missing"), None);
    }
}
