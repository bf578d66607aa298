//! Watch streams: replay from the database, then live events from the
//! writer's broadcast, without gaps or duplicates.
//!
//! The watcher subscribes to the broadcast *before* reading the database.
//! The writer publishes only after commit, so every event is either already
//! in the database when it is read, or still ahead in the subscription; events
//! seen twice are skipped by revision. When the subscription lags (a slow
//! consumer), the skipped events are committed, so the watcher re-reads the
//! database from its last delivered revision and carries on.

use super::reader::{self, ReadPool};
use crate::{Event, StoreError};
use futures::stream::BoxStream;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

/// Events fetched from the database per query.
const REPLAY_PAGE: usize = 1000;
/// Events buffered between the watch task and its consumer.
const STREAM_BUFFER: usize = 256;

/// Everything a watch task needs.
pub(crate) struct WatchTask {
    /// Read connections for replay and lag recovery.
    pub pool: Arc<ReadPool>,
    /// Subscription taken before the replay.
    pub live: broadcast::Receiver<Arc<Vec<Event>>>,
    /// Key prefix watched.
    pub prefix: String,
    /// Last revision delivered (or asked to start after).
    pub after: i64,
}

impl WatchTask {
    /// Spawns the task and returns the consumer's stream. The task ends when
    /// the stream is dropped, the store is dropped, or history it needs was compacted.
    pub(crate) fn spawn(self) -> BoxStream<'static, Result<Event, StoreError>> {
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        tokio::spawn(self.run(tx));
        Box::pin(ReceiverStream::new(rx))
    }

    /// Replays, then follows the broadcast; on lag, replays again.
    async fn run(mut self, out: mpsc::Sender<Result<Event, StoreError>>) {
        loop {
            match self.replay(&out).await {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => {
                    let _ = out.send(Err(e)).await;
                    return;
                }
            }
            if !self.follow(&out).await {
                return;
            }
        }
    }

    /// Sends every stored event after `self.after`. False when the consumer left.
    async fn replay(
        &mut self,
        out: &mpsc::Sender<Result<Event, StoreError>>,
    ) -> Result<bool, StoreError> {
        loop {
            let (prefix, after) = (self.prefix.clone(), self.after);
            let page = self
                .pool
                .read(move |tx, snap| {
                    if after < snap.compacted {
                        return Err(StoreError::Compacted {
                            requested: after,
                            compacted: snap.compacted,
                        });
                    }
                    reader::history(tx, &prefix, after, REPLAY_PAGE)
                })
                .await?;
            let full = page.len() == REPLAY_PAGE;
            for event in page {
                self.after = event.kv.mod_revision;
                if out.send(Ok(event)).await.is_err() {
                    return Ok(false);
                }
            }
            if !full {
                return Ok(true);
            }
        }
    }

    /// Forwards live events. Returns true to replay after a lag, false to stop.
    async fn follow(&mut self, out: &mpsc::Sender<Result<Event, StoreError>>) -> bool {
        loop {
            let received = tokio::select! {
                r = self.live.recv() => r,
                () = out.closed() => return false,
            };
            let batch = match received {
                Ok(batch) => batch,
                Err(broadcast::error::RecvError::Lagged(skipped)) => {
                    tracing::debug!(
                        skipped,
                        after = self.after,
                        "watch lagged; re-reading history"
                    );
                    return true;
                }
                Err(broadcast::error::RecvError::Closed) => return false,
            };
            for event in batch.iter() {
                if event.kv.mod_revision <= self.after {
                    continue;
                }
                self.after = event.kv.mod_revision;
                if event.kv.key.starts_with(&self.prefix)
                    && out.send(Ok(event.clone())).await.is_err()
                {
                    return false;
                }
            }
        }
    }
}
