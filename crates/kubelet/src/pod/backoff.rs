//! Upstream's container restart back-off: 10 s doubling to 5 min, forgotten
//! after twice the maximum without a restart.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

/// First back-off delay.
pub const INITIAL: Duration = Duration::seconds(10);
/// Largest back-off delay.
pub const MAX: Duration = Duration::seconds(300);

#[derive(Clone, Copy, Debug)]
struct Entry {
    backoff: Duration,
    last_update: DateTime<Utc>,
}

/// Back-off entries keyed by pod uid and container name.
#[derive(Default)]
pub struct BackOff {
    entries: Mutex<HashMap<String, Entry>>,
}

fn expired(now: DateTime<Utc>, last_update: DateTime<Utc>) -> bool {
    now - last_update > MAX * 2
}

impl BackOff {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        match self.entries.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// The key of one container of one pod.
    pub fn key(pod_uid: &str, container: &str) -> String {
        format!("{pod_uid}/{container}")
    }

    /// When a restart is still held back, the current delay and when it ends.
    /// `finished_at` is when the last instance exited.
    pub fn in_backoff(
        &self,
        key: &str,
        finished_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<(Duration, DateTime<Utc>)> {
        let entries = self.lock();
        let e = entries.get(key)?;
        if expired(finished_at, e.last_update) {
            return None;
        }
        (now - finished_at < e.backoff).then_some((e.backoff, finished_at + e.backoff))
    }

    /// Record a restart: start at 10 s, double up to 5 min, reset when the
    /// previous record is older than 10 min.
    pub fn next(&self, key: &str, now: DateTime<Utc>) {
        let mut entries = self.lock();
        let backoff = match entries.get(key) {
            Some(e) if !expired(now, e.last_update) => std::cmp::min(e.backoff * 2, MAX),
            _ => INITIAL,
        };
        entries.insert(
            key.to_string(),
            Entry {
                backoff,
                last_update: now,
            },
        );
    }

    /// Forget every entry of a pod.
    pub fn forget_pod(&self, pod_uid: &str) {
        let prefix = format!("{pod_uid}/");
        self.lock().retain(|k, _| !k.starts_with(&prefix));
    }
}

/// Go's `time.Duration` text for whole seconds and minutes ("10s", "1m20s", "5m0s").
pub fn go_duration(d: Duration) -> String {
    let ms = d.num_milliseconds();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let mins = ms / 60_000;
    let rest_ms = ms % 60_000;
    let secs = if rest_ms % 1000 == 0 {
        format!("{}s", rest_ms / 1000)
    } else {
        let s = format!("{:.3}", rest_ms as f64 / 1000.0);
        format!("{}s", s.trim_end_matches('0').trim_end_matches('.'))
    };
    if mins > 0 {
        let hours = mins / 60;
        if hours > 0 {
            format!("{hours}h{}m{secs}", mins % 60)
        } else {
            format!("{mins}m{secs}")
        }
    } else {
        secs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_caps_and_resets() {
        let b = BackOff::default();
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let k = BackOff::key("uid", "c");
        // first failure: no entry, restart at once
        assert!(b.in_backoff(&k, t0, t0).is_none());
        b.next(&k, t0);
        // second failure 1 s later: held back for 10 s from its exit
        let f1 = t0 + Duration::seconds(1);
        let (d, until) = b
            .in_backoff(&k, f1, f1 + Duration::seconds(3))
            .unwrap_or_default();
        assert_eq!(d, Duration::seconds(10));
        assert_eq!(until, f1 + Duration::seconds(10));
        assert!(b.in_backoff(&k, f1, f1 + Duration::seconds(10)).is_none());
        let mut now = f1 + Duration::seconds(10);
        let mut want = 10;
        for _ in 0..8 {
            b.next(&k, now);
            want = std::cmp::min(want * 2, 300);
            let (d, _) = b.in_backoff(&k, now, now).unwrap_or_default();
            assert_eq!(d.num_seconds(), want);
            now += d;
        }
        assert_eq!(want, 300);
        // running for more than 10 minutes resets the delay
        let later = now + Duration::seconds(601);
        assert!(b.in_backoff(&k, later, later).is_none());
        b.next(&k, later);
        let (d, _) = b.in_backoff(&k, later, later).unwrap_or_default();
        assert_eq!(d, INITIAL);
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration(Duration::seconds(10)), "10s");
        assert_eq!(go_duration(Duration::seconds(80)), "1m20s");
        assert_eq!(go_duration(Duration::seconds(300)), "5m0s");
        assert_eq!(go_duration(Duration::milliseconds(1234)), "1.234s");
        assert_eq!(go_duration(Duration::milliseconds(1200)), "1.2s");
        assert_eq!(go_duration(Duration::milliseconds(345)), "345ms");
    }
}
