//! The scheduling queue: pending pods ordered by priority then age, with exponential
//! back-off for pods that did not fit and a parking lot of unschedulable pods that a
//! cluster change (node added/updated, pod deleted) moves back.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;

use crate::cache::pod_key;

/// First back-off after a failed attempt (upstream: 1s).
pub const INITIAL_BACKOFF: Duration = Duration::from_secs(1);
/// Back-off cap (upstream: 10s).
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// Unschedulable pods are retried at least this often (upstream: 5 min).
pub const MAX_UNSCHEDULABLE: Duration = Duration::from_secs(300);

/// Back-off after `attempts` failures: 1s, 2s, 4s, … capped at 10s.
pub fn backoff(attempts: u32) -> Duration {
    let shift = attempts.saturating_sub(1).min(10);
    (INITIAL_BACKOFF * (1u32 << shift)).min(MAX_BACKOFF)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Active,
    Backoff(Instant),
    Unschedulable(Instant),
    InFlight,
}

struct Entry {
    pod: Arc<Pod>,
    priority: i32,
    created: i64,
    seq: u64,
    attempts: u32,
    last_failure: Option<Instant>,
    state: State,
    gen: u64,
    moved_while_in_flight: bool,
}

#[derive(PartialEq, Eq)]
struct ActiveItem {
    priority: i32,
    created: i64,
    seq: u64,
    gen: u64,
    key: String,
}

impl Ord for ActiveItem {
    fn cmp(&self, o: &Self) -> Ordering {
        self.priority
            .cmp(&o.priority)
            .then_with(|| o.created.cmp(&self.created))
            .then_with(|| o.seq.cmp(&self.seq))
    }
}

impl PartialOrd for ActiveItem {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// The queue.
#[derive(Default)]
pub struct SchedulingQueue {
    entries: HashMap<String, Entry>,
    active: BinaryHeap<ActiveItem>,
    backoff: BinaryHeap<Reverse<(Instant, u64, String)>>,
    seq: u64,
}

fn relevant_change(a: &Pod, b: &Pod) -> bool {
    a.spec != b.spec
        || a.metadata.labels != b.metadata.labels
        || a.metadata.annotations != b.metadata.annotations
}

impl SchedulingQueue {
    fn push_active(&mut self, key: &str) {
        self.seq += 1;
        let gen = self.seq;
        if let Some(e) = self.entries.get_mut(key) {
            e.state = State::Active;
            e.gen = gen;
            self.active.push(ActiveItem {
                priority: e.priority,
                created: e.created,
                seq: e.seq,
                gen,
                key: key.to_string(),
            });
        }
    }

    fn push_backoff(&mut self, key: &str, until: Instant) {
        self.seq += 1;
        let gen = self.seq;
        if let Some(e) = self.entries.get_mut(key) {
            e.state = State::Backoff(until);
            e.gen = gen;
            self.backoff.push(Reverse((until, gen, key.to_string())));
        }
    }

    /// Adds a pending pod, or updates it (an unschedulable pod whose spec/labels changed is retried).
    pub fn add_or_update(&mut self, pod: Arc<Pod>, now: Instant) {
        let key = pod_key(&pod);
        if let Some(e) = self.entries.get_mut(&key) {
            let changed = relevant_change(&e.pod, &pod);
            e.pod = pod;
            if changed {
                match e.state {
                    State::Unschedulable(_) => self.requeue(&key, now),
                    State::InFlight => e.moved_while_in_flight = true,
                    _ => {}
                }
            }
            return;
        }
        self.seq += 1;
        let priority = pod.spec.as_ref().and_then(|s| s.priority).unwrap_or(0);
        let created = pod
            .metadata
            .creation_timestamp
            .as_ref()
            .map(|t| t.0.as_millisecond())
            .unwrap_or(0);
        self.entries.insert(
            key.clone(),
            Entry {
                pod,
                priority,
                created,
                seq: self.seq,
                attempts: 0,
                last_failure: None,
                state: State::Active,
                gen: 0,
                moved_while_in_flight: false,
            },
        );
        self.push_active(&key);
    }

    /// Forgets a pod (deleted, bound, or no longer ours).
    pub fn remove(&mut self, key: &str) {
        self.entries.remove(key);
    }

    /// Whether the queue tracks this pod.
    pub fn contains(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    fn requeue(&mut self, key: &str, now: Instant) {
        let Some(e) = self.entries.get(key) else {
            return;
        };
        let until = e.last_failure.map(|t| t + backoff(e.attempts));
        match until {
            Some(u) if u > now => self.push_backoff(key, u),
            _ => self.push_active(key),
        }
    }

    /// The next pod to schedule, if any is ready at `now`; it is in flight until
    /// [`done`](Self::done) or [`failed`](Self::failed).
    pub fn pop(&mut self, now: Instant) -> Option<Arc<Pod>> {
        self.flush(now);
        while let Some(item) = self.active.pop() {
            if let Some(e) = self.entries.get_mut(&item.key) {
                if e.gen == item.gen && e.state == State::Active {
                    e.state = State::InFlight;
                    e.moved_while_in_flight = false;
                    return Some(e.pod.clone());
                }
            }
        }
        None
    }

    /// Moves finished back-offs to active, and long-parked unschedulable pods to back-off/active.
    pub fn flush(&mut self, now: Instant) {
        while let Some(Reverse((until, gen, key))) = self.backoff.peek().cloned() {
            if until > now {
                break;
            }
            self.backoff.pop();
            if self
                .entries
                .get(&key)
                .is_some_and(|e| e.gen == gen && matches!(e.state, State::Backoff(_)))
            {
                self.push_active(&key);
            }
        }
    }

    /// Retries parked pods that have waited longer than [`MAX_UNSCHEDULABLE`].
    pub fn flush_unschedulable(&mut self, now: Instant) {
        let stale: Vec<String> = self
            .entries
            .iter()
            .filter(|(_, e)| matches!(e.state, State::Unschedulable(t) if now.duration_since(t) >= MAX_UNSCHEDULABLE))
            .map(|(k, _)| k.clone())
            .collect();
        for k in stale {
            self.requeue(&k, now);
        }
    }

    /// The scheduling attempt succeeded.
    pub fn done(&mut self, key: &str) {
        self.entries.remove(key);
    }

    /// The attempt failed: park the pod, or back it off if the cluster changed meanwhile.
    pub fn failed(&mut self, key: &str, now: Instant) {
        let Some(e) = self.entries.get_mut(key) else {
            return;
        };
        e.attempts += 1;
        e.last_failure = Some(now);
        if e.moved_while_in_flight {
            self.requeue(key, now);
        } else {
            e.state = State::Unschedulable(now);
        }
    }

    /// A binding failed for a transient reason: back off and retry.
    pub fn retry(&mut self, key: &str, now: Instant) {
        if let Some(e) = self.entries.get_mut(key) {
            e.attempts += 1;
            e.last_failure = Some(now);
        }
        self.requeue(key, now);
    }

    /// A cluster change may make parked pods fit: move them to back-off or active.
    pub fn move_all(&mut self, now: Instant) {
        let keys: Vec<String> = self
            .entries
            .iter_mut()
            .filter_map(|(k, e)| match e.state {
                State::Unschedulable(_) => Some(k.clone()),
                State::InFlight => {
                    e.moved_while_in_flight = true;
                    None
                }
                _ => None,
            })
            .collect();
        for k in keys {
            self.requeue(&k, now);
        }
    }

    /// When the earliest back-off ends.
    pub fn next_backoff(&self) -> Option<Instant> {
        self.backoff.peek().map(|Reverse((t, _, _))| *t)
    }

    /// Pods waiting (all states).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no pods are waiting.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Pods waiting by queue: (active, back-off, unschedulable); pods in flight count in none.
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut counts = (0, 0, 0);
        for e in self.entries.values() {
            match e.state {
                State::Active => counts.0 += 1,
                State::Backoff(_) => counts.1 += 1,
                State::Unschedulable(_) => counts.2 += 1,
                State::InFlight => {}
            }
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, prio: i32, created: &str) -> Arc<Pod> {
        Arc::new(
            serde_json::from_value(json!({"metadata": {"name": name, "namespace": "default", "creationTimestamp": created},
                "spec": {"priority": prio, "containers": [{"name": "c"}]}}))
            .unwrap(),
        )
    }

    fn name(p: Option<Arc<Pod>>) -> String {
        p.and_then(|p| p.metadata.name.clone()).unwrap_or_default()
    }

    #[test]
    fn priority_then_age() {
        let mut q = SchedulingQueue::default();
        let now = Instant::now();
        q.add_or_update(pod("young", 0, "2024-01-01T00:00:02Z"), now);
        q.add_or_update(pod("old", 0, "2024-01-01T00:00:01Z"), now);
        q.add_or_update(pod("vip", 10, "2024-01-01T00:00:03Z"), now);
        assert_eq!(name(q.pop(now)), "vip");
        assert_eq!(name(q.pop(now)), "old");
        assert_eq!(name(q.pop(now)), "young");
        assert!(q.pop(now).is_none());
    }

    #[test]
    fn backoff_and_move() {
        let mut q = SchedulingQueue::default();
        let t0 = Instant::now();
        q.add_or_update(pod("p", 0, "2024-01-01T00:00:00Z"), t0);
        assert_eq!(name(q.pop(t0)), "p");
        q.failed("default/p", t0);
        // Parked: nothing to do until the cluster changes.
        assert!(q.pop(t0 + Duration::from_secs(30)).is_none());
        q.move_all(t0 + Duration::from_millis(200));
        assert!(
            q.pop(t0 + Duration::from_millis(500)).is_none(),
            "still backing off"
        );
        assert_eq!(name(q.pop(t0 + Duration::from_secs(1))), "p");
        // Change during flight → straight to back-off after failure.
        q.move_all(t0 + Duration::from_secs(1));
        q.failed("default/p", t0 + Duration::from_secs(1));
        assert!(q.pop(t0 + Duration::from_secs(2)).is_none());
        assert_eq!(name(q.pop(t0 + Duration::from_secs(3))), "p");
    }

    #[test]
    fn backoff_doubles_to_cap() {
        let got: Vec<u64> = (1..=6).map(|a| backoff(a).as_secs()).collect();
        assert_eq!(got, vec![1, 2, 4, 8, 10, 10]);
    }

    #[test]
    fn parked_pods_retry_after_max() {
        let mut q = SchedulingQueue::default();
        let t0 = Instant::now();
        q.add_or_update(pod("p", 0, "2024-01-01T00:00:00Z"), t0);
        q.pop(t0);
        q.failed("default/p", t0);
        q.flush_unschedulable(t0 + MAX_UNSCHEDULABLE);
        assert_eq!(name(q.pop(t0 + MAX_UNSCHEDULABLE)), "p");
    }
}
