//! core/v1 Events about objects (`Scheduled`, `ScalingReplicaSet`, `Pulled`, …): what an
//! event is made of, the sink components write to, and references to the objects events
//! are about. The [`Recorder`] sends them in the background through a [`Correlator`]
//! that counts repeats, aggregates similar events and filters spam, as client-go does.

mod correlator;
pub mod fake;
mod lru;
mod recorder;

use k8s_openapi::api::core::v1::{ObjectReference, Pod};
use kube::Resource;

pub use correlator::{Correlated, Correlator, CorrelatorOptions, AGGREGATE_PREFIX};
pub use recorder::{Recorder, MAX_QUEUED_EVENTS};

/// Event type Normal.
pub const NORMAL: &str = "Normal";
/// Event type Warning.
pub const WARNING: &str = "Warning";

/// `Normal` or `Warning`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Informational.
    Normal,
    /// Something went wrong.
    Warning,
}

impl EventType {
    /// The `type` field's value.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => NORMAL,
            EventType::Warning => WARNING,
        }
    }
}

/// One event to record.
#[derive(Clone, Debug, PartialEq)]
pub struct EventRecord {
    /// The object (and, for a container, its field path) the event is about.
    pub object: ObjectReference,
    /// Normal or Warning.
    pub type_: String,
    /// Short CamelCase reason.
    pub reason: String,
    /// Human message.
    pub message: String,
}

/// Where events are written; recording never blocks and never fails.
pub trait EventSink: Send + Sync + 'static {
    /// Records an event.
    fn record(&self, ev: EventRecord);
}

/// A reference to `obj` as an Event's involvedObject.
pub fn object_ref<K: Resource<DynamicType = ()>>(obj: &K) -> ObjectReference {
    ObjectReference {
        api_version: Some(K::api_version(&()).to_string()),
        kind: Some(K::kind(&()).to_string()),
        name: obj.meta().name.clone(),
        namespace: obj.meta().namespace.clone(),
        uid: obj.meta().uid.clone(),
        resource_version: obj.meta().resource_version.clone(),
        field_path: None,
    }
}

/// Reference to a pod, or to one of its containers when `field_path` is set.
pub fn pod_ref(pod: &Pod, field_path: Option<String>) -> ObjectReference {
    ObjectReference {
        field_path,
        ..object_ref(pod)
    }
}

/// Field path of a container: `spec.containers{name}` or `spec.initContainers{name}`.
pub fn container_path(init: bool, name: &str) -> String {
    if init {
        format!("spec.initContainers{{{name}}}")
    } else {
        format!("spec.containers{{{name}}}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::api::ObjectMeta;

    #[test]
    fn references_name_the_object_and_container() {
        let pod = Pod {
            metadata: ObjectMeta {
                name: Some("web".into()),
                namespace: Some("ns".into()),
                uid: Some("u1".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let r = pod_ref(&pod, Some(container_path(false, "app")));
        assert_eq!(r.kind.as_deref(), Some("Pod"));
        assert_eq!(r.api_version.as_deref(), Some("v1"));
        assert_eq!(r.uid.as_deref(), Some("u1"));
        assert_eq!(r.field_path.as_deref(), Some("spec.containers{app}"));
        assert_eq!(container_path(true, "init"), "spec.initContainers{init}");
        assert_eq!(object_ref(&pod).field_path, None);
        assert_eq!(EventType::Warning.as_str(), WARNING);
    }
}
