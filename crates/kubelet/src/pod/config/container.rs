//! The CRI ContainerConfig of one container: image, command, env, mounts,
//! resources and security context, with the labels and annotations the
//! kubelet reads back (pod identity, spec hash, restart count).

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};

use k8s_cri::v1 as cri;
use k8s_openapi::api::core::v1::{Container, Pod};

use super::ids;
use crate::cri::labels;
use crate::pod::resources::linux_resources;
use crate::pod::volumes::Prepared;

/// A stable hash of the container spec (to notice spec changes).
pub fn container_hash(c: &Container) -> String {
    let text = serde_json::to_string(c).unwrap_or_default();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    format!("{:x}", h.finish() & 0xffff_ffff)
}

/// Everything needed to build a ContainerConfig.
pub struct ContainerInputs<'a> {
    /// The container spec.
    pub container: &'a Container,
    /// Restart count of the new instance.
    pub restart_count: i32,
    /// Final environment.
    pub env: Vec<(String, String)>,
    /// Command after expansion.
    pub command: Vec<String>,
    /// Args after expansion.
    pub args: Vec<String>,
    /// Prepared volumes by name.
    pub volumes: &'a BTreeMap<String, Prepared>,
    /// Node memory capacity for OOM scores.
    pub node_memory: i64,
}

/// The CRI config of one container.
pub fn container_config(pod: &Pod, inp: ContainerInputs<'_>) -> cri::ContainerConfig {
    let c = inp.container;
    cri::ContainerConfig {
        metadata: Some(cri::ContainerMetadata {
            name: c.name.clone(),
            attempt: inp.restart_count as u32,
        }),
        image: Some(cri::ImageSpec {
            image: c.image.clone().unwrap_or_default(),
            user_specified_image: c.image.clone().unwrap_or_default(),
            ..Default::default()
        }),
        working_dir: c.working_dir.clone().unwrap_or_default(),
        envs: envs(pod, inp.env),
        mounts: mounts(c, inp.volumes),
        labels: container_labels(pod, c),
        annotations: annotations(pod, c, inp.restart_count),
        log_path: format!("{}/{}.log", c.name, inp.restart_count),
        stdin: c.stdin.unwrap_or(false),
        stdin_once: c.stdin_once.unwrap_or(false),
        tty: c.tty.unwrap_or(false),
        linux: Some(cri::LinuxContainerConfig {
            resources: Some(linux_resources(pod, c, inp.node_memory)),
            security_context: Some(security_context(pod, c)),
        }),
        command: inp.command,
        args: inp.args,
        ..Default::default()
    }
}

/// The pod's identity and the container's name.
fn container_labels(pod: &Pod, c: &Container) -> HashMap<String, String> {
    let (name, ns, uid) = ids(pod);
    HashMap::from([
        (labels::POD_NAME.to_string(), name),
        (labels::POD_NAMESPACE.to_string(), ns),
        (labels::POD_UID.to_string(), uid),
        (labels::CONTAINER_NAME.to_string(), c.name.clone()),
    ])
}

/// Spec hash, restart count, termination message path and grace period.
fn annotations(pod: &Pod, c: &Container, restart_count: i32) -> HashMap<String, String> {
    let grace = pod
        .spec
        .as_ref()
        .and_then(|s| s.termination_grace_period_seconds)
        .unwrap_or(30);
    let term_path = c
        .termination_message_path
        .clone()
        .unwrap_or_else(|| "/dev/termination-log".into());
    HashMap::from([
        (labels::CONTAINER_HASH.to_string(), container_hash(c)),
        (labels::RESTART_COUNT.to_string(), restart_count.to_string()),
        (labels::TERMINATION_MESSAGE_PATH.to_string(), term_path),
        (labels::TERMINATION_GRACE.to_string(), grace.to_string()),
    ])
}

/// The container's volume mounts on their prepared host paths (a subPath
/// directory is created when missing).
fn mounts(c: &Container, volumes: &BTreeMap<String, Prepared>) -> Vec<cri::Mount> {
    let mut mounts = vec![];
    for vm in c.volume_mounts.iter().flatten() {
        let Some(v) = volumes.get(&vm.name) else {
            continue;
        };
        let mut host = v.host_path.clone();
        if let Some(sub) = vm.sub_path.as_deref().filter(|s| !s.is_empty()) {
            host = host.join(sub);
            if !host.exists() {
                let _ = std::fs::create_dir_all(&host);
            }
        }
        let propagation = match vm.mount_propagation.as_deref() {
            Some("HostToContainer") => cri::MountPropagation::PropagationHostToContainer,
            Some("Bidirectional") => cri::MountPropagation::PropagationBidirectional,
            _ => cri::MountPropagation::PropagationPrivate,
        };
        mounts.push(cri::Mount {
            container_path: vm.mount_path.clone(),
            host_path: host.to_string_lossy().into_owned(),
            readonly: vm.read_only.unwrap_or(false) || v.read_only,
            propagation: propagation as i32,
            ..Default::default()
        });
    }
    mounts
}

/// HOSTNAME first, then the built environment.
fn envs(pod: &Pod, env: Vec<(String, String)>) -> Vec<cri::KeyValue> {
    let hostname = pod
        .spec
        .as_ref()
        .and_then(|s| s.hostname.clone())
        .or_else(|| pod.metadata.name.clone())
        .unwrap_or_default();
    let first = cri::KeyValue {
        key: "HOSTNAME".into(),
        value: hostname,
    };
    let rest = env
        .into_iter()
        .map(|(key, value)| cri::KeyValue { key, value });
    std::iter::once(first).chain(rest).collect()
}

/// The container's security context over the pod's.
fn security_context(pod: &Pod, c: &Container) -> cri::LinuxContainerSecurityContext {
    let sc = c.security_context.clone().unwrap_or_default();
    let psc = pod
        .spec
        .as_ref()
        .and_then(|s| s.security_context.clone())
        .unwrap_or_default();
    let run_as_user = sc.run_as_user.or(psc.run_as_user);
    let run_as_group = sc.run_as_group.or(psc.run_as_group);
    let caps = sc.capabilities.clone().unwrap_or_default();
    cri::LinuxContainerSecurityContext {
        privileged: sc.privileged.unwrap_or(false),
        run_as_user: run_as_user.map(|value| cri::Int64Value { value }),
        run_as_group: run_as_group.map(|value| cri::Int64Value { value }),
        readonly_rootfs: sc.read_only_root_filesystem.unwrap_or(false),
        no_new_privs: sc.allow_privilege_escalation == Some(false),
        // Upstream adds the pod's fsGroup to every container's groups.
        supplemental_groups: psc
            .supplemental_groups
            .clone()
            .unwrap_or_default()
            .into_iter()
            .chain(psc.fs_group)
            .collect(),
        capabilities: Some(cri::Capability {
            add_capabilities: caps.add.unwrap_or_default(),
            drop_capabilities: caps.drop.unwrap_or_default(),
            ..Default::default()
        }),
        ..Default::default()
    }
}
