//! A de-duplicating work queue of object keys (client-go's workqueue): a key is processed
//! by one worker at a time; keys added while processing are processed again afterwards.

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tracing::warn;

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
}

impl WorkQueue {
    /// Enqueues `key` (no-op if already waiting).
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

    /// Enqueues `key` after `delay`.
    pub fn add_after(&self, key: impl Into<String>, delay: Duration) {
        let (q, key) = (self.clone(), key.into());
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            q.add(key);
        });
    }

    fn try_take(&self) -> Option<String> {
        let mut g = self.inner.lock().ok()?;
        let key = g.queue.pop_front()?;
        g.queued.remove(&key);
        g.processing.insert(key.clone());
        Some(key)
    }

    /// Waits for the next key.
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

/// Runs `workers` loops that take keys and call `sync`; `Ok(Some(d))` requeues after `d`,
/// errors requeue with a growing delay.
pub async fn run_workers<F, Fut, E>(queue: WorkQueue, workers: usize, name: &'static str, sync: F)
where
    F: Fn(String) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Option<Duration>, E>> + Send,
    E: std::fmt::Display,
{
    let failures: Arc<Mutex<std::collections::HashMap<String, u32>>> = Arc::default();
    let mut handles = Vec::new();
    for _ in 0..workers.max(1) {
        let (q, sync, failures) = (queue.clone(), sync.clone(), failures.clone());
        handles.push(tokio::spawn(async move {
            loop {
                let key = q.get().await;
                let res = sync(key.clone()).await;
                q.done(&key);
                match res {
                    Ok(next) => {
                        if let Ok(mut f) = failures.lock() {
                            f.remove(&key);
                        }
                        if let Some(d) = next {
                            q.add_after(key, d);
                        }
                    }
                    Err(e) => {
                        let n = failures
                            .lock()
                            .map(|mut f| {
                                let c = f.entry(key.clone()).or_insert(0);
                                *c += 1;
                                *c
                            })
                            .unwrap_or(1);
                        let delay = Duration::from_millis(5u64 << n.min(12)).min(Duration::from_secs(60));
                        warn!(controller = name, %key, error = %e, "sync failed; retrying in {delay:?}");
                        q.add_after(key, delay);
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
}
