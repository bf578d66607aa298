//! The event correlator (client-go's `EventCorrelator`), pure: given an Event and the
//! time, decide whether to create it, patch an earlier one, or drop it as spam.
//!
//! - An identical event (same source, object incl. field path, type, reason, message) is
//!   counted: the earlier Event's `count` and `lastTimestamp` are patched.
//! - When 10 or more distinct messages for the same source, object, type and reason are
//!   seen within 10 minutes, they are combined into one Event whose message is prefixed
//!   with [`AGGREGATE_PREFIX`], itself counted on repeats.
//! - Each source+object may burst 25 events, then 1 per 5 minutes (token bucket).

use std::collections::HashSet;
use std::time::Duration;

use k8s_openapi::api::core::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use serde_json::{json, Value};

use super::lru::Lru;
use crate::ratelimit::TokenBucket;

/// Prefix of an aggregated event's message.
pub const AGGREGATE_PREFIX: &str = "(combined from similar events): ";

/// The correlator's limits; the default is upstream's.
#[derive(Debug, Clone)]
pub struct CorrelatorOptions {
    /// Entries in each of the caches (4096).
    pub cache_size: usize,
    /// Distinct messages within `max_interval` at which events are aggregated (10).
    pub max_events: usize,
    /// How long since the last similar event before a group starts over (600s).
    pub max_interval: Duration,
    /// Events a source may send about one object at once (25).
    pub spam_burst: f64,
    /// Refill of that budget per second (one per 300s).
    pub spam_qps: f64,
}

impl Default for CorrelatorOptions {
    fn default() -> Self {
        CorrelatorOptions {
            cache_size: 4096,
            max_events: 10,
            max_interval: Duration::from_secs(600),
            spam_burst: 25.0,
            spam_qps: 1.0 / 300.0,
        }
    }
}

/// What to do with an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Correlated {
    /// Create this Event.
    Create(Event),
    /// Merge-patch the existing Event `event.metadata.name` with `patch` (create `event`
    /// instead if it is gone).
    Patch {
        /// The event as it should read after the patch.
        event: Event,
        /// `count`, `lastTimestamp` and `message`.
        patch: Value,
    },
    /// Drop it: the source is over its budget for this object.
    Skip,
}

/// Similar events seen lately: their distinct messages and when the last one was.
#[derive(Debug, Clone)]
struct Group {
    messages: HashSet<String>,
    last: Timestamp,
}

/// The Event an identity was last written as.
#[derive(Debug, Clone)]
struct Observation {
    count: i32,
    first: Option<Time>,
    name: Option<String>,
    resource_version: Option<String>,
}

/// Counts, aggregates and rate-limits events; one per recorder, fed in order.
#[derive(Debug, Clone)]
pub struct Correlator {
    opts: CorrelatorOptions,
    groups: Lru<Group>,
    seen: Lru<Observation>,
    spam: Lru<TokenBucket>,
}

impl Default for Correlator {
    fn default() -> Self {
        Correlator::new(CorrelatorOptions::default())
    }
}

fn s(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

fn join(parts: &[&str]) -> String {
    parts.join("\u{1f}")
}

/// Source and object, the parts every key starts with (not the field path).
fn source_object(ev: &Event) -> [&str; 7] {
    let src = ev.source.as_ref();
    let o = &ev.involved_object;
    [
        src.map_or("", |x| s(&x.component)),
        src.map_or("", |x| s(&x.host)),
        s(&o.kind),
        s(&o.namespace),
        s(&o.name),
        s(&o.uid),
        s(&o.api_version),
    ]
}

/// The identity of an event: repeats of it are counted (upstream `getEventKey`).
pub(crate) fn event_key(ev: &Event) -> String {
    let mut parts = source_object(ev).to_vec();
    parts.extend([
        s(&ev.involved_object.field_path),
        s(&ev.type_),
        s(&ev.reason),
        s(&ev.message),
    ]);
    join(&parts)
}

/// The group of similar events (same but for the message), and the message itself
/// (upstream `EventAggregatorByReasonFunc`).
fn group_key(ev: &Event) -> (String, String) {
    let mut parts = source_object(ev).to_vec();
    parts.extend([
        s(&ev.type_),
        s(&ev.reason),
        s(&ev.reporting_component),
        s(&ev.reporting_instance),
    ]);
    (join(&parts), s(&ev.message).to_string())
}

/// Source and object: the spam filter's budget is per this key (upstream `getSpamKey`).
fn spam_key(ev: &Event) -> String {
    join(&source_object(ev))
}

fn since_epoch(t: Timestamp) -> Duration {
    Duration::try_from(t.as_duration()).unwrap_or_default()
}

impl Correlator {
    /// A correlator with these limits.
    pub fn new(opts: CorrelatorOptions) -> Self {
        Correlator {
            groups: Lru::new(opts.cache_size),
            seen: Lru::new(opts.cache_size),
            spam: Lru::new(opts.cache_size),
            opts,
        }
    }

    /// Decides what to do with `ev` (built by a recorder) at `now`.
    pub fn correlate(&mut self, ev: Event, now: Timestamp) -> Correlated {
        let (ev, key) = self.aggregate(ev, now);
        let (ev, patch) = self.observe(ev, key);
        let (opts, at) = (&self.opts, since_epoch(now));
        let bucket = self.spam.get_or_insert_with(&spam_key(&ev), || {
            TokenBucket::new(opts.spam_qps, opts.spam_burst)
        });
        if !bucket.try_accept(at) {
            return Correlated::Skip;
        }
        match patch {
            Some(patch) => Correlated::Patch { event: ev, patch },
            None => Correlated::Create(ev),
        }
    }

    /// Remembers the Event as the API server returned it (its name and resourceVersion
    /// are what later repeats patch).
    pub fn update_state(&mut self, ev: &Event) {
        self.seen.insert(event_key(ev), observation(ev));
    }

    /// Returns the event to write and the key its repeats are counted under: itself, or
    /// the group's combined event once the group has `max_events` distinct messages.
    fn aggregate(&mut self, ev: Event, now: Timestamp) -> (Event, String) {
        let (group, message) = group_key(&ev);
        let max_interval = self.opts.max_interval;
        let g = self.groups.get_or_insert_with(&group, || Group {
            messages: HashSet::new(),
            last: now,
        });
        if since_epoch(now).saturating_sub(since_epoch(g.last)) > max_interval {
            g.messages.clear();
        }
        g.messages.insert(message);
        g.last = now;
        if g.messages.len() < self.opts.max_events {
            let key = event_key(&ev);
            return (ev, key);
        }
        // keep the set from growing past the limit (upstream pops any member)
        if let Some(any) = g.messages.iter().next().cloned() {
            g.messages.remove(&any);
        }
        (combined(ev, now), group)
    }

    /// Applies what was written before under `key`: a repeat takes the earlier Event's
    /// name, first timestamp and count + 1, and yields the patch to send.
    fn observe(&mut self, mut ev: Event, key: String) -> (Event, Option<Value>) {
        let mut patch = None;
        if let Some(last) = self.seen.get_mut(&key).filter(|o| o.count > 0) {
            ev.metadata.name = last.name.clone();
            ev.metadata.resource_version = last.resource_version.clone();
            ev.first_timestamp = last.first.clone();
            ev.count = Some(last.count + 1);
            patch = Some(json!({
                "count": ev.count,
                "lastTimestamp": ev.last_timestamp,
                "message": ev.message,
            }));
        }
        self.seen.insert(key, observation(&ev));
        (ev, patch)
    }
}

fn observation(ev: &Event) -> Observation {
    Observation {
        count: ev.count.unwrap_or(1),
        first: ev.first_timestamp.clone(),
        name: ev.metadata.name.clone(),
        resource_version: ev.metadata.resource_version.clone(),
    }
}

/// The group's combined event, standing for `ev` and its similar events.
fn combined(ev: Event, now: Timestamp) -> Event {
    let name = format!("{}.{:x}", s(&ev.involved_object.name), now.as_nanosecond());
    Event {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: ev.metadata.namespace,
            ..Default::default()
        },
        message: Some(format!("{AGGREGATE_PREFIX}{}", s(&ev.message))),
        count: Some(1),
        first_timestamp: Some(Time(now)),
        last_timestamp: Some(Time(now)),
        involved_object: ev.involved_object,
        type_: ev.type_,
        reason: ev.reason,
        source: ev.source,
        reporting_component: ev.reporting_component,
        reporting_instance: ev.reporting_instance,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests;
