//! The scheduler's Prometheus metrics, in upstream's names: scheduling attempts by result
//! (`scheduler_schedule_attempts_total`, `scheduler_scheduling_attempt_duration_seconds`)
//! and pending pods by queue (`scheduler_pending_pods`). They live in the process-wide
//! registry, so the API server's `/metrics` shows them when the scheduler runs in its
//! process (as k3s does).

use std::time::{Duration, Instant};

use skiff_metrics::{exponential_buckets, CounterVec, GaugeVec, HistogramVec};

use crate::binder::BindOutcome;
use crate::queue::SchedulingQueue;

/// How often the pending-pod gauges are refreshed at most (counting walks the queue).
const PENDING_EVERY: Duration = Duration::from_secs(1);

/// How a scheduling attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptResult {
    /// Bound to a node.
    Scheduled,
    /// No node fits.
    Unschedulable,
    /// The scheduler failed (binding failed, the pod went away).
    Error,
}

impl AttemptResult {
    fn label(self) -> &'static str {
        match self {
            AttemptResult::Scheduled => "scheduled",
            AttemptResult::Unschedulable => "unschedulable",
            AttemptResult::Error => "error",
        }
    }

    /// The result of an attempt whose binding ended with `out`.
    pub fn of_binding(out: &BindOutcome) -> AttemptResult {
        match out {
            BindOutcome::Bound => AttemptResult::Scheduled,
            _ => AttemptResult::Error,
        }
    }
}

/// The scheduler's metric families for one profile.
#[derive(Clone)]
pub struct Metrics {
    profile: String,
    attempts: CounterVec,
    duration: HistogramVec,
    pending: GaugeVec,
    pending_at: Option<Instant>,
}

impl Metrics {
    /// The families for `profile` (the scheduler name), in the process-wide registry.
    pub fn new(profile: &str) -> Metrics {
        let r = skiff_metrics::global();
        Metrics {
            profile: profile.to_string(),
            attempts: r.counter_vec(
                "scheduler_schedule_attempts_total",
                "Number of attempts to schedule pods, by the result. 'unschedulable' means a pod could not be scheduled, while 'error' means an internal scheduler problem.",
                &["result", "profile"],
            ),
            duration: r.histogram_vec(
                "scheduler_scheduling_attempt_duration_seconds",
                "Scheduling attempt latency in seconds (scheduling algorithm + binding)",
                &["result", "profile"],
                &exponential_buckets(0.001, 2.0, 15),
            ),
            pending: r.gauge_vec(
                "scheduler_pending_pods",
                "Number of pending pods, by the queue type. 'active' means number of pods in activeQ; 'backoff' means number of pods in backoffQ; 'unschedulable' means number of pods in unschedulablePods that the scheduler attempted to schedule and failed; 'gated' is the number of unschedulable pods that the scheduler never attempted to schedule because they are gated.",
                &["queue"],
            ),
            pending_at: None,
        }
    }

    /// Records an attempt that began at `start`.
    pub fn attempt(&self, result: AttemptResult, start: Instant) {
        let labels = [result.label(), self.profile.as_str()];
        self.attempts.inc(&labels);
        self.duration
            .observe(&labels, start.elapsed().as_secs_f64());
    }

    /// Refreshes the pending-pod gauges from the queue (at most every second).
    pub fn pending(&mut self, queue: &SchedulingQueue) {
        let now = Instant::now();
        if self
            .pending_at
            .is_some_and(|t| now.duration_since(t) < PENDING_EVERY)
        {
            return;
        }
        self.pending_at = Some(now);
        let (active, backoff, unschedulable) = queue.counts();
        for (queue, n) in [
            ("active", active),
            ("backoff", backoff),
            ("unschedulable", unschedulable),
            ("gated", 0),
        ] {
            self.pending.set(&[queue], n as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn attempts_by_result_and_pending_by_queue() {
        let mut m = Metrics::new("metrics-test-scheduler");
        let start = Instant::now();
        m.attempt(AttemptResult::Scheduled, start);
        m.attempt(AttemptResult::of_binding(&BindOutcome::Gone), start);
        m.attempt(AttemptResult::Unschedulable, start);
        m.attempt(AttemptResult::Unschedulable, start);
        let p = "metrics-test-scheduler";
        assert_eq!(m.attempts.get(&["scheduled", p]), 1.0);
        assert_eq!(m.attempts.get(&["error", p]), 1.0);
        assert_eq!(m.attempts.get(&["unschedulable", p]), 2.0);
        assert_eq!(m.duration.count(&["unschedulable", p]), 2);

        let mut q = SchedulingQueue::default();
        let pod: k8s_openapi::api::core::v1::Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "a", "namespace": "default"}, "spec": {"containers": []}
        }))
        .unwrap();
        q.add_or_update(Arc::new(pod), start);
        m.pending(&q);
        assert_eq!(m.pending.get(&["active"]), 1.0);
        assert_eq!(m.pending.get(&["unschedulable"]), 0.0);
        let rendered = skiff_metrics::global().render();
        assert!(
            rendered.contains("scheduler_pending_pods{queue=\"gated\"} 0"),
            "{rendered}"
        );
    }
}
