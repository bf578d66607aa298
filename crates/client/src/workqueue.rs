//! A de-duplicating, rate-limited work queue of object keys (client-go's workqueue): a key
//! is processed by one worker at a time; a key added while it is processed is processed
//! again after `done`; failures are requeued with [`RateLimiter`]'s back-off and
//! `forget` clears it on success.

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tracing::warn;

use crate::ratelimit::RateLimiter;

#[derive(Default)]
struct Inner {
    queue: VecDeque<String>,
    queued: HashSet<String>,
    processing: HashSet<String>,
    dirty: HashSet<String>,
}

/// The queue; clones share state.
#[derive(Clone, Default)]
pub struct WorkQueue {
    inner: Arc<Mutex<Inner>>,
    notify: Arc<Notify>,
    limiter: Arc<Mutex<RateLimiter>>,
}

impl WorkQueue {
    /// Enqueues `key` (no-op if already waiting; marked dirty if being processed).
    pub fn add(&self, key: impl Into<String>) {
        let key = key.into();
        let Ok(mut g) = self.inner.lock() else { return };
        if g.processing.contains(&key) {
            g.dirty.insert(key);
            return;
        }
        if g.queued.insert(key.clone()) {
            g.queue.push_back(key);
            drop(g);
            self.notify.notify_one();
        }
    }

    /// Enqueues `key` after `delay` (at once when `delay` is zero).
    pub fn add_after(&self, key: impl Into<String>, delay: Duration) {
        let key = key.into();
        if delay.is_zero() {
            return self.add(key);
        }
        let q = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            q.add(key);
        });
    }

    /// Enqueues `key` after its rate-limited back-off; returns the delay chosen.
    pub fn add_rate_limited(&self, key: impl Into<String>) -> Duration {
        let key = key.into();
        let delay = self
            .limiter
            .lock()
            .map(|mut l| l.when(&key, Instant::now()))
            .unwrap_or_default();
        self.add_after(key, delay);
        delay
    }

    /// Clears `key`'s back-off (call when it was processed successfully).
    pub fn forget(&self, key: &str) {
        if let Ok(mut l) = self.limiter.lock() {
            l.forget(key);
        }
    }

    /// How many rate-limited requeues `key` has had since it was last forgotten.
    pub fn num_requeues(&self, key: &str) -> u32 {
        self.limiter
            .lock()
            .map(|l| l.num_requeues(key))
            .unwrap_or(0)
    }

    fn try_take(&self) -> Option<String> {
        let mut g = self.inner.lock().ok()?;
        let key = g.queue.pop_front()?;
        g.queued.remove(&key);
        g.processing.insert(key.clone());
        Some(key)
    }

    /// Waits for the next key; the caller must call [`WorkQueue::done`] with it.
    pub async fn get(&self) -> String {
        loop {
            let notified = self.notify.notified();
            if let Some(k) = self.try_take() {
                return k;
            }
            notified.await;
        }
    }

    /// Marks `key` processed; re-enqueues it if it was added meanwhile.
    pub fn done(&self, key: &str) {
        let again = match self.inner.lock() {
            Ok(mut g) => {
                g.processing.remove(key);
                g.dirty.remove(key)
            }
            Err(_) => false,
        };
        if again {
            self.add(key.to_string());
        }
    }

    /// Number of keys waiting.
    pub fn len(&self) -> usize {
        self.inner.lock().map(|g| g.queue.len()).unwrap_or(0)
    }

    /// Whether no keys are waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Runs `workers` loops that take keys and call `sync`: `Ok(None)` forgets the key's
/// back-off, `Ok(Some(d))` forgets it and requeues after `d`, an error requeues it
/// rate-limited.
pub async fn run_workers<F, Fut, E>(queue: WorkQueue, workers: usize, name: &'static str, sync: F)
where
    F: Fn(String) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Option<Duration>, E>> + Send,
    E: std::fmt::Display,
{
    let mut handles = Vec::new();
    for _ in 0..workers.max(1) {
        let (q, sync) = (queue.clone(), sync.clone());
        handles.push(tokio::spawn(async move {
            loop {
                let key = q.get().await;
                let res = sync(key.clone()).await;
                q.done(&key);
                match res {
                    Ok(next) => {
                        q.forget(&key);
                        if let Some(d) = next {
                            q.add_after(key, d);
                        }
                    }
                    Err(e) => {
                        let delay = q.add_rate_limited(key.clone());
                        warn!(controller = name, %key, error = %e, "sync failed; retrying in {delay:?}");
                    }
                }
            }
        }));
    }
    for h in handles {
        let _ = h.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dedups_and_reprocesses_dirty() {
        let q = WorkQueue::default();
        q.add("a");
        q.add("a");
        q.add("b");
        assert_eq!(q.len(), 2);
        let k = q.get().await;
        assert_eq!(k, "a");
        q.add("a"); // while processing: dirty
        assert_eq!(q.len(), 1);
        q.done("a");
        assert_eq!(q.len(), 2);
    }

    #[tokio::test]
    async fn key_added_twice_while_processing_comes_back_once() {
        // upstream TestAddWhileProcessing: one more pass, not one per add
        let q = WorkQueue::default();
        q.add("a");
        let k = q.get().await;
        q.add("a");
        q.add("a");
        assert!(q.is_empty());
        q.done(&k);
        assert_eq!(q.len(), 1);
        assert_eq!(q.get().await, "a");
        q.done("a");
        assert!(q.is_empty());
    }

    #[tokio::test]
    async fn rate_limited_requeues_back_off_until_forgotten() {
        let q = WorkQueue::default();
        assert_eq!(q.add_rate_limited("a"), Duration::from_millis(5));
        assert_eq!(q.add_rate_limited("a"), Duration::from_millis(10));
        assert_eq!(q.num_requeues("a"), 2);
        q.forget("a");
        assert_eq!(q.num_requeues("a"), 0);
        // the delayed adds arrive, deduplicated into one key
        assert_eq!(q.get().await, "a");
        q.done("a");
    }

    #[tokio::test]
    async fn failing_sync_is_retried_and_success_forgets() {
        let q = WorkQueue::default();
        let calls = Arc::new(Mutex::new(0u32));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let sync = {
            let calls = calls.clone();
            move |key: String| {
                let (calls, tx) = (calls.clone(), tx.clone());
                async move {
                    let n = calls.lock().map(|mut c| {
                        *c += 1;
                        *c
                    });
                    let n = n.unwrap_or(0);
                    if n < 3 {
                        return Err(format!("attempt {n}"));
                    }
                    let _ = tx.send(key);
                    Ok(None)
                }
            }
        };
        q.add("k");
        let workers = tokio::spawn(run_workers(q.clone(), 1, "test", sync));
        assert_eq!(rx.recv().await.as_deref(), Some("k"));
        assert_eq!(*calls.lock().unwrap(), 3);
        // the worker forgets the key after `done`; wait for that before reading
        while q.num_requeues("k") != 0 {
            tokio::task::yield_now().await;
        }
        workers.abort();
    }
}
