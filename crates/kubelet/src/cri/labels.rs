//! Label and annotation keys the kubelet puts on sandboxes and containers,
//! the same keys upstream uses so other tools (crictl) understand them.

/// Pod name label.
pub const POD_NAME: &str = "io.kubernetes.pod.name";
/// Pod namespace label.
pub const POD_NAMESPACE: &str = "io.kubernetes.pod.namespace";
/// Pod UID label.
pub const POD_UID: &str = "io.kubernetes.pod.uid";
/// Container name label.
pub const CONTAINER_NAME: &str = "io.kubernetes.container.name";
/// Restart count annotation of a container instance.
pub const RESTART_COUNT: &str = "io.kubernetes.container.restartCount";
/// Hash of the container spec the instance was created from.
pub const CONTAINER_HASH: &str = "io.kubernetes.container.hash";
/// Termination message path annotation.
pub const TERMINATION_MESSAGE_PATH: &str = "io.kubernetes.container.terminationMessagePath";
/// Termination grace period annotation on containers.
pub const TERMINATION_GRACE: &str = "io.kubernetes.pod.terminationGracePeriod";
