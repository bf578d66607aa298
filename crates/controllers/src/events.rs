//! Recording core/v1 Events about objects (`Scheduled`, `ScalingReplicaSet`, …).

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use kube::{Resource, ResourceExt};
use tracing::debug;

/// Writes Events on behalf of one component.
#[derive(Clone)]
pub struct Recorder {
    client: kube::Client,
    component: String,
    instance: String,
}

/// `Normal` or `Warning`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Informational.
    Normal,
    /// Something went wrong.
    Warning,
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
        ..Default::default()
    }
}

impl Recorder {
    /// A recorder for `component` (e.g. `default-scheduler`), instance `instance`.
    pub fn new(client: kube::Client, component: &str, instance: &str) -> Self {
        Recorder {
            client,
            component: component.into(),
            instance: instance.into(),
        }
    }

    /// Builds the Event object (pure; exposed for tests).
    pub fn build(
        &self,
        regarding: ObjectReference,
        type_: EventType,
        reason: &str,
        message: &str,
        now: Timestamp,
    ) -> Event {
        let name = format!(
            "{}.{:x}",
            regarding.name.as_deref().unwrap_or("obj"),
            now.as_nanosecond()
        );
        Event {
            metadata: ObjectMeta {
                name: Some(name),
                namespace: regarding.namespace.clone().or(Some("default".into())),
                ..Default::default()
            },
            involved_object: regarding,
            reason: Some(reason.into()),
            message: Some(message.into()),
            type_: Some(match type_ {
                EventType::Normal => "Normal".into(),
                EventType::Warning => "Warning".into(),
            }),
            count: Some(1),
            first_timestamp: Some(Time(now)),
            last_timestamp: Some(Time(now)),
            event_time: Some(MicroTime(now)),
            source: Some(EventSource {
                component: Some(self.component.clone()),
                host: None,
            }),
            reporting_component: Some(self.component.clone()),
            reporting_instance: Some(self.instance.clone()),
            action: Some(reason.into()),
            ..Default::default()
        }
    }

    /// Records an event about `obj`; failures are logged, never returned (events are best effort).
    pub async fn record<K: Resource<DynamicType = ()> + ResourceExt>(
        &self,
        obj: &K,
        type_: EventType,
        reason: &str,
        message: &str,
    ) {
        self.record_ref(object_ref(obj), type_, reason, message)
            .await;
    }

    /// Records an event about a referenced object.
    pub async fn record_ref(
        &self,
        regarding: ObjectReference,
        type_: EventType,
        reason: &str,
        message: &str,
    ) {
        let ev = self.build(regarding, type_, reason, message, Timestamp::now());
        let ns = ev
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let api: Api<Event> = Api::namespaced(self.client.clone(), &ns);
        if let Err(e) = api.create(&PostParams::default(), &ev).await {
            debug!(reason, error = %e, "recording event");
        }
    }
}
