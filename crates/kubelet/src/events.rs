//! core/v1 Events about pods, sent in the background and aggregated like
//! upstream's recorder: a repeat of the same event bumps `count` and
//! `lastTimestamp` instead of creating a new object.

use std::collections::HashMap;

use chrono::Utc;
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};
use tokio::sync::mpsc;

/// Event type Normal.
pub const NORMAL: &str = "Normal";
/// Event type Warning.
pub const WARNING: &str = "Warning";

/// One event to record.
#[derive(Clone, Debug, PartialEq)]
pub struct EventRecord {
    /// The pod (and container field path) it is about.
    pub object: ObjectReference,
    /// Normal or Warning.
    pub type_: String,
    /// Short CamelCase reason.
    pub reason: String,
    /// Human message.
    pub message: String,
}

/// Where the pod workers send events.
pub trait EventSink: Send + Sync + 'static {
    /// Record an event (never blocks, never fails).
    fn record(&self, ev: EventRecord);
}

/// Reference to a pod, or to one of its containers when `field_path` is set.
pub fn pod_ref(pod: &Pod, field_path: Option<String>) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Pod".into()),
        name: pod.metadata.name.clone(),
        namespace: pod.metadata.namespace.clone(),
        uid: pod.metadata.uid.clone(),
        resource_version: pod.metadata.resource_version.clone(),
        field_path,
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

/// Sends events to the API server from a background task.
#[derive(Clone)]
pub struct ApiEvents {
    tx: mpsc::UnboundedSender<EventRecord>,
}

impl EventSink for ApiEvents {
    fn record(&self, ev: EventRecord) {
        tracing::debug!(reason = %ev.reason, message = %ev.message, "event");
        let _ = self.tx.send(ev);
    }
}

impl ApiEvents {
    /// Start the sender task for node `node`.
    pub fn start(client: Client, node: String) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(send_loop(client, node, rx));
        ApiEvents { tx }
    }
}

/// Most distinct events remembered for counting repeats.
const SEEN_LIMIT: usize = 4096;

type Key = (String, String, String, String, String, String);

async fn send_loop(client: Client, node: String, mut rx: mpsc::UnboundedReceiver<EventRecord>) {
    // (ns, uid, fieldPath, type, reason, message) -> (event name, count)
    let mut seen: HashMap<Key, (String, i32)> = HashMap::new();
    while let Some(ev) = rx.recv().await {
        if seen.len() >= SEEN_LIMIT {
            // upstream's correlator keeps an LRU of this size; starting over only
            // means the next repeat creates a new Event instead of counting up
            seen.clear();
        }
        let ns = ev
            .object
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let key: Key = (
            ns.clone(),
            ev.object.uid.clone().unwrap_or_default(),
            ev.object.field_path.clone().unwrap_or_default(),
            ev.type_.clone(),
            ev.reason.clone(),
            ev.message.clone(),
        );
        let api = Api::<Event>::namespaced(client.clone(), &ns);
        let now = Utc::now();
        if let Some((name, count)) = seen.get_mut(&key) {
            *count += 1;
            let patch = serde_json::json!({
                "count": *count,
                "lastTimestamp": crate::time::time(now),
            });
            match api
                .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => continue,
                Err(e) => tracing::debug!(error = %e, "event patch failed; creating anew"),
            }
        }
        let obj_name = ev.object.name.clone().unwrap_or_default();
        let name = format!(
            "{}.{:x}",
            obj_name,
            now.timestamp_nanos_opt().unwrap_or_default()
        );
        let event = Event {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(ns.clone()),
                ..Default::default()
            },
            involved_object: ev.object.clone(),
            reason: Some(ev.reason.clone()),
            message: Some(ev.message.clone()),
            type_: Some(ev.type_.clone()),
            source: Some(EventSource {
                component: Some("kubelet".into()),
                host: Some(node.clone()),
            }),
            first_timestamp: Some(crate::time::time(now)),
            last_timestamp: Some(crate::time::time(now)),
            count: Some(1),
            event_time: None::<MicroTime>,
            reporting_component: Some("kubelet".into()),
            reporting_instance: Some(node.clone()),
            ..Default::default()
        };
        match api.create(&PostParams::default(), &event).await {
            Ok(_) => {
                if seen.len() > 4096 {
                    seen.clear();
                }
                seen.insert(key, (name, 1));
            }
            Err(e) => tracing::warn!(error = %e, reason = %ev.reason, "could not record event"),
        }
    }
}

#[cfg(test)]
pub mod fake {
    //! An event sink that keeps what it is given.
    use super::*;
    use std::sync::Mutex;

    /// Collects events.
    #[derive(Default)]
    pub struct FakeEvents(pub Mutex<Vec<EventRecord>>);

    impl EventSink for FakeEvents {
        fn record(&self, ev: EventRecord) {
            if let Ok(mut v) = self.0.lock() {
                v.push(ev);
            }
        }
    }

    impl FakeEvents {
        /// "Reason: message" lines in order.
        pub fn lines(&self) -> Vec<String> {
            self.0
                .lock()
                .map(|v| {
                    v.iter()
                        .map(|e| format!("{}: {}", e.reason, e.message))
                        .collect()
                })
                .unwrap_or_default()
        }
    }
}
