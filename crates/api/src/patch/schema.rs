//! The patch-relevant shape of built-in kinds: which lists merge by which key (`patchMergeKey`, `x-kubernetes-list-map-keys`), which are sets, which are atomic.

use crate::registry::ResourceInfo;

/// A position in a kind's type tree that matters for merging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// Anything without special list fields; maps merge key by key, lists are atomic.
    Plain,
    /// An atomic struct or map: replaced whole (e.g. a label selector).
    Atomic,
    /// Object root of a kind.
    Root(&'static str),
    /// `metadata`.
    ObjectMeta,
    /// A pod template (`metadata` + `spec`).
    PodTemplate,
    /// A pod spec.
    PodSpec,
    /// A container.
    Container,
    /// Pod status.
    PodStatus,
    /// Deployment or ReplicaSet spec.
    WorkloadSpec,
    /// Status with `conditions` keyed by type.
    Conditioned,
    /// Service spec.
    ServiceSpec,
    /// Node spec.
    NodeSpec,
    /// Node status.
    NodeStatus,
}

/// How a list field merges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListKind {
    /// Replaced whole.
    Atomic,
    /// A set of primitives, merged by value.
    Set,
    /// Objects merged by these key fields (the first is the strategic merge key).
    Map(&'static [&'static str], Ty),
}

/// The root type of a resource's objects.
pub fn root(res: &ResourceInfo) -> Ty {
    Ty::Root(res.kind)
}

/// The type of field `key` inside a value of type `ty`.
pub fn child(ty: Ty, key: &str) -> Ty {
    match (ty, key) {
        (Ty::Root(_), "metadata") => Ty::ObjectMeta,
        (Ty::Root("Pod"), "spec") => Ty::PodSpec,
        (Ty::Root("Pod"), "status") => Ty::PodStatus,
        (Ty::Root("Deployment" | "ReplicaSet"), "spec") => Ty::WorkloadSpec,
        (Ty::Root("Deployment" | "ReplicaSet" | "Namespace" | "Service"), "status") => {
            Ty::Conditioned
        }
        (Ty::Root("Service"), "spec") => Ty::ServiceSpec,
        (Ty::Root("Node"), "spec") => Ty::NodeSpec,
        (Ty::Root("Node"), "status") => Ty::NodeStatus,
        (Ty::Root("Event"), "involvedObject" | "regarding" | "related") => Ty::Atomic,
        (Ty::WorkloadSpec, "template") => Ty::PodTemplate,
        (Ty::WorkloadSpec, "selector") => Ty::Atomic,
        (Ty::PodTemplate, "metadata") => Ty::ObjectMeta,
        (Ty::PodTemplate, "spec") => Ty::PodSpec,
        (Ty::PodSpec, "affinity") => Ty::Plain,
        (Ty::Atomic, _) => Ty::Atomic,
        _ => Ty::Plain,
    }
}

/// How list field `key` of a value of type `ty` merges.
pub fn list_kind(ty: Ty, key: &str) -> ListKind {
    match (ty, key) {
        (Ty::ObjectMeta, "finalizers") => ListKind::Set,
        (Ty::ObjectMeta, "ownerReferences") => ListKind::Map(&["uid"], Ty::Plain),
        (Ty::PodSpec, "containers" | "initContainers" | "ephemeralContainers") => {
            ListKind::Map(&["name"], Ty::Container)
        }
        (Ty::PodSpec, "volumes" | "imagePullSecrets" | "schedulingGates" | "resourceClaims") => {
            ListKind::Map(&["name"], Ty::Plain)
        }
        (Ty::PodSpec, "hostAliases") => ListKind::Map(&["ip"], Ty::Plain),
        (Ty::Container, "ports") => ListKind::Map(&["containerPort", "protocol"], Ty::Plain),
        (Ty::Container, "env") => ListKind::Map(&["name"], Ty::Plain),
        (Ty::Container, "volumeMounts") => ListKind::Map(&["mountPath"], Ty::Plain),
        (Ty::Container, "volumeDevices") => ListKind::Map(&["devicePath"], Ty::Plain),
        (Ty::PodStatus, "conditions") => ListKind::Map(&["type"], Ty::Plain),
        (Ty::PodStatus, "podIPs" | "hostIPs") => ListKind::Map(&["ip"], Ty::Plain),
        (Ty::Conditioned, "conditions") => ListKind::Map(&["type"], Ty::Plain),
        (Ty::ServiceSpec, "ports") => ListKind::Map(&["port", "protocol"], Ty::Plain),
        (Ty::NodeSpec, "podCIDRs") => ListKind::Set,
        (Ty::NodeStatus, "conditions" | "addresses") => ListKind::Map(&["type"], Ty::Plain),
        _ => ListKind::Atomic,
    }
}

/// Whether a map-typed field is atomic (replaced whole).
pub fn is_atomic(ty: Ty) -> bool {
    ty == Ty::Atomic
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_keys() {
        let spec = child(
            child(child(Ty::Root("Deployment"), "spec"), "template"),
            "spec",
        );
        assert_eq!(spec, Ty::PodSpec);
        match list_kind(spec, "containers") {
            ListKind::Map(keys, Ty::Container) => assert_eq!(keys, &["name"]),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(list_kind(Ty::Container, "args"), ListKind::Atomic);
        assert_eq!(list_kind(Ty::ObjectMeta, "finalizers"), ListKind::Set);
    }
}
