//! Container statistics read from the cgroup v1 hierarchies (cpuacct, memory).

use std::path::Path;

use k8s_cri::v1::{ContainerAttributes, ContainerStats, CpuUsage, MemoryUsage, UInt64Value};

use crate::state::{now_ns, ContainerRecord};

fn read_u64(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn stat_field(path: &Path, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.trim().parse().ok())
}

/// Stats of one container from its cgroup.
pub fn container_stats(rec: &ContainerRecord) -> ContainerStats {
    let rel = rec.cgroup_path.trim_start_matches('/');
    let ts = now_ns();
    let cpu_dir = Path::new("/sys/fs/cgroup/cpuacct").join(rel);
    let mem_dir = Path::new("/sys/fs/cgroup/memory").join(rel);
    let usage = read_u64(&mem_dir.join("memory.usage_in_bytes"));
    let inactive = stat_field(&mem_dir.join("memory.stat"), "total_inactive_file").unwrap_or(0);
    let v = |x: Option<u64>| x.map(|value| UInt64Value { value });
    ContainerStats {
        attributes: Some(ContainerAttributes {
            id: rec.id.clone(),
            metadata: rec.config.metadata.clone(),
            labels: rec.config.labels.clone(),
            annotations: rec.config.annotations.clone(),
        }),
        cpu: Some(CpuUsage {
            timestamp: ts,
            usage_core_nano_seconds: v(read_u64(&cpu_dir.join("cpuacct.usage"))),
            usage_nano_cores: None,
        }),
        memory: Some(MemoryUsage {
            timestamp: ts,
            working_set_bytes: v(usage.map(|u| u.saturating_sub(inactive))),
            available_bytes: None,
            usage_bytes: v(usage),
            rss_bytes: v(stat_field(&mem_dir.join("memory.stat"), "total_rss")),
            page_faults: v(stat_field(&mem_dir.join("memory.stat"), "total_pgfault")),
            major_page_faults: v(stat_field(&mem_dir.join("memory.stat"), "total_pgmajfault")),
        }),
        writable_layer: None,
        swap: None,
    }
}
