//! Container and pod statistics read from the cgroup v1 hierarchies (cpuacct, memory).

use k8s_cri::v1::{
    ContainerAttributes, ContainerStats, CpuUsage, LinuxPodSandboxStats, MemoryUsage,
    PodSandboxAttributes, PodSandboxStats, UInt64Value,
};

use crate::error::RuntimeError;
use crate::runtime::Runtime;
use crate::state::{now_ns, ContainerRecord, SandboxRecord};
use crate::sys::cgroup::{read_u64, stat_field};

/// Stats of one container from its cgroup.
pub(super) fn container_stats(rec: &ContainerRecord) -> ContainerStats {
    let rel = rec.cgroup_path.as_str();
    let ts = now_ns();
    let mem_stat = |key| stat_field("memory", rel, "memory.stat", key);
    let usage = read_u64("memory", rel, "memory.usage_in_bytes");
    let inactive = mem_stat("total_inactive_file").unwrap_or(0);
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
            usage_core_nano_seconds: v(read_u64("cpuacct", rel, "cpuacct.usage")),
            usage_nano_cores: None,
        }),
        memory: Some(MemoryUsage {
            timestamp: ts,
            working_set_bytes: v(usage.map(|u| u.saturating_sub(inactive))),
            available_bytes: None,
            usage_bytes: v(usage),
            rss_bytes: v(mem_stat("total_rss")),
            page_faults: v(mem_stat("total_pgfault")),
            major_page_faults: v(mem_stat("total_pgmajfault")),
        }),
        writable_layer: None,
        swap: None,
    }
}

/// Stats of a pod: its running containers'.
pub(super) fn sandbox_stats(
    rt: &Runtime,
    sb: &SandboxRecord,
) -> Result<PodSandboxStats, RuntimeError> {
    let containers = rt
        .containers_of(&sb.id)?
        .iter()
        .filter(|c| rt.exit_of(c).is_none())
        .map(container_stats)
        .collect();
    Ok(PodSandboxStats {
        attributes: Some(PodSandboxAttributes {
            id: sb.id.clone(),
            metadata: sb.config.metadata.clone(),
            labels: sb.config.labels.clone(),
            annotations: sb.config.annotations.clone(),
        }),
        linux: Some(LinuxPodSandboxStats {
            containers,
            ..Default::default()
        }),
        windows: None,
    })
}
