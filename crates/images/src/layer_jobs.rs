//! One job per layer of an image (download, unpack, …), a few at a time, each reported
//! as done to the progress callback when it finishes.

use std::future::Future;

use tokio::sync::Semaphore;

use crate::error::ImageError;
use crate::types::{ProgressFn, PullProgress};

/// Layers worked on at once (downloads overlap unpacking of earlier layers).
pub(crate) const PARALLEL_LAYERS: usize = 3;

/// Runs `job` for every `(digest, item)`; the job returns the size to report. Waits for
/// every job, not just the first failure (a layer still being committed on a blocking
/// thread must not land after the caller returned), then returns the first error.
pub(crate) async fn for_each_layer<T, F, Fut>(
    layers: Vec<(String, T)>,
    progress: Option<&ProgressFn>,
    job: F,
) -> Result<(), ImageError>
where
    F: Fn(T) -> Fut,
    Fut: Future<Output = Result<u64, ImageError>>,
{
    let sem = Semaphore::new(PARALLEL_LAYERS);
    let (sem, job) = (&sem, &job);
    let jobs = layers.into_iter().map(|(digest, item)| async move {
        let size = {
            let _permit = sem
                .acquire()
                .await
                .map_err(|e| ImageError::Internal(e.to_string()))?;
            job(item).await?
        };
        if let Some(p) = progress {
            p(PullProgress {
                layer: digest,
                downloaded: size,
                total: size,
                done: true,
            });
        }
        Ok::<_, ImageError>(())
    });
    let mut first = Ok(());
    for res in futures::future::join_all(jobs).await {
        if first.is_ok() {
            first = res;
        }
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    #[tokio::test]
    async fn runs_all_jobs_at_most_three_at_once_and_reports_each() {
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let done = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&done);
        let progress: ProgressFn = Arc::new(move |p: PullProgress| {
            if let Ok(mut d) = seen.lock() {
                d.push((p.layer, p.total, p.done));
            }
        });
        let layers: Vec<(String, u64)> = (0..7).map(|i| (format!("sha256:{i}"), i)).collect();
        let result = for_each_layer(layers, Some(&progress), |size| {
            let (running, peak) = (&running, &peak);
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                if size == 4 {
                    return Err(ImageError::Internal("layer 4".into()));
                }
                Ok(size)
            }
        })
        .await;
        assert!(matches!(result, Err(ImageError::Internal(m)) if m == "layer 4"));
        assert!(peak.load(Ordering::SeqCst) <= PARALLEL_LAYERS);
        // Every job ran to its end despite the failure; the six good ones were reported.
        let reported = done.lock().map(|d| d.clone()).unwrap_or_default();
        assert_eq!(reported.len(), 6);
        assert!(reported.iter().all(|(_, _, done)| *done));
    }
}
