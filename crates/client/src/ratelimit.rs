//! Requeue rate limiters for work queues, as client-go's `workqueue` default controller
//! rate limiter: per-item exponential back-off (5ms doubling to 1000s) combined with an
//! overall token bucket (10 qps, burst 100); the longer of the two delays wins.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// First per-item back-off (upstream: 5ms).
pub const BASE_DELAY: Duration = Duration::from_millis(5);
/// Longest per-item back-off (upstream: 1000s).
pub const MAX_DELAY: Duration = Duration::from_secs(1000);
/// Overall requeue rate (upstream: 10 per second).
pub const BUCKET_QPS: f64 = 10.0;
/// Overall requeue burst (upstream: 100).
pub const BUCKET_BURST: f64 = 100.0;

/// Per-item exponential back-off: the n-th failure (from 0) waits `base * 2^n`, capped.
#[derive(Debug, Clone)]
pub struct ItemExponentialBackoff {
    base: Duration,
    max: Duration,
    failures: HashMap<String, u32>,
}

impl ItemExponentialBackoff {
    /// A back-off from `base` doubling up to `max`.
    pub fn new(base: Duration, max: Duration) -> Self {
        ItemExponentialBackoff {
            base,
            max,
            failures: HashMap::new(),
        }
    }

    /// The delay before `key` is retried, counting this as one more failure.
    pub fn when(&mut self, key: &str) -> Duration {
        let n = self.failures.entry(key.to_string()).or_insert(0);
        let exp = *n;
        *n = n.saturating_add(1);
        2u32.checked_pow(exp)
            .and_then(|factor| self.base.checked_mul(factor))
            .map_or(self.max, |d| d.min(self.max))
    }

    /// How many failures `key` has had since it was last forgotten.
    pub fn num_requeues(&self, key: &str) -> u32 {
        self.failures.get(key).copied().unwrap_or(0)
    }

    /// Clears `key`'s failures (it succeeded).
    pub fn forget(&mut self, key: &str) {
        self.failures.remove(key);
    }
}

/// A token bucket (golang.org/x/time/rate's): `burst` tokens, refilled at `qps`. Time is
/// a reading of the caller's monotonic clock (any fixed origin), so tests pass it in.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    qps: f64,
    burst: f64,
    tokens: f64,
    last: Option<Duration>,
}

impl TokenBucket {
    /// A full bucket of `burst` tokens refilled at `qps`.
    pub fn new(qps: f64, burst: f64) -> Self {
        TokenBucket {
            qps,
            burst,
            tokens: burst,
            last: None,
        }
    }

    fn refill(&mut self, now: Duration) {
        if let Some(last) = self.last {
            let elapsed = now.saturating_sub(last).as_secs_f64();
            self.tokens = (self.tokens + elapsed * self.qps).min(self.burst);
        }
        self.last = Some(self.last.map_or(now, |l| l.max(now)));
    }

    /// Reserves one token at `now`, going into debt if none is left; returns how long to
    /// wait before using it (rate.Limiter's `Reserve().Delay()`).
    pub fn reserve(&mut self, now: Duration) -> Duration {
        self.refill(now);
        self.tokens -= 1.0;
        if self.tokens >= 0.0 || self.qps <= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.qps)
        }
    }

    /// Takes one token at `now` if one is there (flowcontrol's `TryAccept`).
    pub fn try_accept(&mut self, now: Duration) -> bool {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Upstream's `DefaultControllerRateLimiter`: the longer of the per-item back-off and the
/// overall bucket's wait.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    items: ItemExponentialBackoff,
    bucket: TokenBucket,
    epoch: Instant,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter {
            items: ItemExponentialBackoff::new(BASE_DELAY, MAX_DELAY),
            bucket: TokenBucket::new(BUCKET_QPS, BUCKET_BURST),
            epoch: Instant::now(),
        }
    }
}

impl RateLimiter {
    /// The delay before `key` is retried at `now`.
    pub fn when(&mut self, key: &str, now: Instant) -> Duration {
        let item = self.items.when(key);
        item.max(
            self.bucket
                .reserve(now.saturating_duration_since(self.epoch)),
        )
    }

    /// How many times `key` has been requeued since it was last forgotten.
    pub fn num_requeues(&self, key: &str) -> u32 {
        self.items.num_requeues(key)
    }

    /// Clears `key`'s back-off (the bucket is shared and not reset).
    pub fn forget(&mut self, key: &str) {
        self.items.forget(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn item_backoff_doubles_to_the_cap_and_forget_resets() {
        // upstream TestItemExponentialFailureRateLimiter: 1ms base, 1s max
        let mut l = ItemExponentialBackoff::new(MS(1), Duration::from_secs(1));
        let want = [1, 2, 4, 8, 16];
        for (i, w) in want.iter().enumerate() {
            assert_eq!(l.when("one"), MS(*w), "failure {i}");
        }
        assert_eq!(l.num_requeues("one"), 5);
        assert_eq!(l.when("two"), MS(1));
        assert_eq!(l.when("two"), MS(2));
        assert_eq!(l.num_requeues("two"), 2);
        l.forget("one");
        assert_eq!(l.num_requeues("one"), 0);
        assert_eq!(l.when("one"), MS(1));
        let mut capped = ItemExponentialBackoff::new(MS(1), Duration::from_secs(1));
        let last = (0..12).map(|_| capped.when("k")).last();
        assert_eq!(last, Some(Duration::from_secs(1)));
    }

    #[test]
    fn item_backoff_never_overflows() {
        // upstream TestItemExponentialFailureRateLimiterOverFlow
        let mut l = ItemExponentialBackoff::new(MS(1), Duration::from_secs(1000));
        for _ in 0..5 {
            l.when("one");
        }
        assert_eq!(l.when("one"), MS(32));
        let mut l = ItemExponentialBackoff::new(MS(1), Duration::from_secs(1000));
        for _ in 0..1000 {
            l.when("overflow");
        }
        assert_eq!(l.when("overflow"), Duration::from_secs(1000));
    }

    #[test]
    fn bucket_allows_the_burst_then_paces_at_qps() {
        let t0 = Duration::from_secs(7);
        let mut b = TokenBucket::new(10.0, 3.0);
        for _ in 0..3 {
            assert_eq!(b.reserve(t0), Duration::ZERO);
        }
        assert_eq!(b.reserve(t0), MS(100));
        assert_eq!(b.reserve(t0), MS(200));
        // one second later the debt of 2 tokens is repaid and 8 more are back (capped at 3)
        assert_eq!(b.reserve(t0 + Duration::from_secs(1)), Duration::ZERO);
    }

    #[test]
    fn try_accept_refuses_without_going_into_debt() {
        // the event spam filter's bucket: burst 2, one token per 300s
        let mut b = TokenBucket::new(1.0 / 300.0, 2.0);
        let at = |s| Duration::from_secs(s);
        let steps = [
            (0, true),
            (1, true),
            (2, false),
            (299, false),
            (301, true),
            (302, false),
        ];
        for (t, want) in steps {
            assert_eq!(b.try_accept(at(t)), want, "at {t}s");
        }
    }

    #[test]
    fn default_limiter_takes_the_longer_delay() {
        // upstream TestMaxOfRateLimiter shape: the per-item back-off wins while the
        // bucket has tokens; the bucket wins once it is drained
        let t0 = Instant::now();
        let mut l = RateLimiter::default();
        assert_eq!(l.when("one", t0), MS(5));
        assert_eq!(l.when("one", t0), MS(10));
        assert_eq!(l.when("two", t0), MS(5));
        assert_eq!(l.num_requeues("one"), 2);
        l.forget("one");
        assert_eq!(l.num_requeues("one"), 0);
        assert_eq!(l.when("one", t0), MS(5));
        for i in 0..96 {
            l.when(&format!("k{i}"), t0);
        }
        // 100 tokens used; the next one is 100ms away at 10 qps
        assert_eq!(l.when("late", t0), MS(100));
    }
}
