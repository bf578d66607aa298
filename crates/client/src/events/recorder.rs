//! The event recorder: builds core/v1 Events on behalf of one component and hands them
//! to a background task (client-go's broadcaster + `recordToSink`) that correlates them
//! and writes them, so callers never wait for the API server.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::Resource;
use tokio::sync::mpsc;
use tracing::{debug, warn};

use super::correlator::{Correlated, Correlator};
use super::{object_ref, EventRecord, EventSink, EventType};

/// Events waiting to be written before new ones are dropped (upstream: 1000).
pub const MAX_QUEUED_EVENTS: usize = 1000;
/// Attempts to write one event while the API server is unreachable (upstream: 12).
const MAX_TRIES: u32 = 12;
/// Pause between those attempts (upstream: 10s, the first one randomised).
const RETRY_SLEEP: Duration = Duration::from_secs(10);

/// Who reports: `source.component`/`source.host` and the reporting fields.
#[derive(Debug)]
struct Source {
    component: String,
    host: Option<String>,
    instance: String,
}

/// Records Events on behalf of one component; clones share the background sender.
#[derive(Clone)]
pub struct Recorder {
    tx: Option<mpsc::Sender<Event>>,
    source: Arc<Source>,
}

impl Recorder {
    /// A recorder for a control-plane `component` (e.g. `default-scheduler`) whose
    /// instance is `instance`; starts its sender task.
    pub fn new(client: kube::Client, component: &str, instance: &str) -> Self {
        Self::start(client, component, None, instance)
    }

    /// A recorder for a node agent: `component` (e.g. `kubelet`) on host `node`.
    pub fn for_node(client: kube::Client, component: &str, node: &str) -> Self {
        Self::start(client, component, Some(node), node)
    }

    fn start(client: kube::Client, component: &str, host: Option<&str>, instance: &str) -> Self {
        let source = Arc::new(Source {
            component: component.into(),
            host: host.map(str::to_string),
            instance: instance.into(),
        });
        let tx = match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                let (tx, rx) = mpsc::channel(MAX_QUEUED_EVENTS);
                rt.spawn(send_loop(client, rx));
                Some(tx)
            }
            Err(_) => {
                warn!(component, "no async runtime: events will not be recorded");
                None
            }
        };
        Recorder { tx, source }
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
            type_: Some(type_.as_str().into()),
            count: Some(1),
            first_timestamp: Some(Time(now)),
            last_timestamp: Some(Time(now)),
            source: Some(EventSource {
                component: Some(self.source.component.clone()),
                host: self.source.host.clone(),
            }),
            reporting_component: Some(self.source.component.clone()),
            reporting_instance: Some(self.source.instance.clone()),
            ..Default::default()
        }
    }

    /// Queues an event about a referenced object (never blocks; dropped when the queue
    /// is full, as upstream does).
    pub fn emit(&self, regarding: ObjectReference, type_: EventType, reason: &str, message: &str) {
        debug!(reason, message, "event");
        let Some(tx) = &self.tx else { return };
        let ev = self.build(regarding, type_, reason, message, Timestamp::now());
        match tx.try_send(ev) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                warn!(reason, "too many queued events; event dropped")
            }
            Err(mpsc::error::TrySendError::Closed(_)) => debug!(reason, "event sender stopped"),
        }
    }

    /// Records an event about `obj`. Only queues it: the `async` is kept so that call
    /// sites read as before; nothing here waits for the API server.
    pub async fn record<K: Resource<DynamicType = ()>>(
        &self,
        obj: &K,
        type_: EventType,
        reason: &str,
        message: &str,
    ) {
        self.emit(object_ref(obj), type_, reason, message);
    }

    /// Records an event about a referenced object (queued, like [`Recorder::record`]).
    pub async fn record_ref(
        &self,
        regarding: ObjectReference,
        type_: EventType,
        reason: &str,
        message: &str,
    ) {
        self.emit(regarding, type_, reason, message);
    }
}

impl EventSink for Recorder {
    fn record(&self, ev: EventRecord) {
        let type_ = if ev.type_ == super::WARNING {
            EventType::Warning
        } else {
            EventType::Normal
        };
        self.emit(ev.object, type_, &ev.reason, &ev.message);
    }
}

/// Correlates and writes queued events, one at a time, until every recorder is dropped.
async fn send_loop(client: kube::Client, mut rx: mpsc::Receiver<Event>) {
    let mut correlator = Correlator::default();
    while let Some(ev) = rx.recv().await {
        let (ev, patch) = match correlator.correlate(ev, Timestamp::now()) {
            Correlated::Create(ev) => (ev, None),
            Correlated::Patch { event, patch } => (event, Some(patch)),
            Correlated::Skip => continue,
        };
        let reason = ev.reason.as_deref().unwrap_or("");
        for attempt in 1..=MAX_TRIES {
            match write(&client, &ev, patch.as_ref()).await {
                Ok(written) => {
                    correlator.update_state(&written);
                    break;
                }
                Err(kube::Error::Api(e)) => {
                    // the server refused it: writing it again would be refused again
                    if e.is_already_exists() || namespace_terminating(&e) {
                        debug!(reason, error = %e, "server rejected event");
                    } else {
                        warn!(reason, error = %e, "server rejected event (will not retry)");
                    }
                    break;
                }
                Err(e) if attempt == MAX_TRIES => {
                    warn!(reason, error = %e, "could not write event (retry limit exceeded)");
                }
                Err(e) => {
                    debug!(reason, error = %e, "could not write event; retrying");
                    tokio::time::sleep(retry_delay(attempt)).await;
                }
            }
        }
    }
}

/// Whether the namespace the event was meant for is being deleted.
fn namespace_terminating(status: &kube::core::Status) -> bool {
    status
        .details
        .as_ref()
        .is_some_and(|d| d.causes.iter().any(|c| c.reason == "NamespaceTerminating"))
}

/// The pause after failed attempt `attempt`: the first is randomised so that clients do
/// not retry in step after an API server outage.
fn retry_delay(attempt: u32) -> Duration {
    if attempt == 1 {
        RETRY_SLEEP.mul_f64(rand::random::<f64>())
    } else {
        RETRY_SLEEP
    }
}

/// Writes one correlated event: `patch` onto the earlier Event (re-created if it is
/// gone), or `ev` as a new one. Returns the Event as stored.
async fn write(
    client: &kube::Client,
    ev: &Event,
    patch: Option<&serde_json::Value>,
) -> Result<Event, kube::Error> {
    let ns = ev.metadata.namespace.as_deref().unwrap_or("default");
    let api: Api<Event> = Api::namespaced(client.clone(), ns);
    if let (Some(patch), Some(name)) = (patch, ev.metadata.name.as_deref()) {
        match api
            .patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
        {
            Err(kube::Error::Api(e)) if e.is_not_found() => {}
            other => return other,
        }
    }
    let mut fresh = ev.clone();
    fresh.metadata.resource_version = None;
    api.create(&PostParams::default(), &fresh).await
}

#[cfg(test)]
mod tests;
