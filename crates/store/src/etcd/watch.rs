//! Watch streams on etcd: one etcd watch per stream, events converted in order.

use super::convert;
use crate::{Event, StoreError};
use etcd_client::{Client, WatchOptions};
use futures::stream::BoxStream;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

/// Events buffered between the watch task and its consumer.
const STREAM_BUFFER: usize = 256;

/// Starts an etcd watch of `prefix` from `after + 1` and forwards its events.
/// A cancel for compaction ends the stream with `StoreError::Compacted`.
pub(crate) async fn start(
    mut client: Client,
    prefix: String,
    range_end: Vec<u8>,
    after: i64,
    compacted: Arc<AtomicI64>,
) -> Result<BoxStream<'static, Result<Event, StoreError>>, StoreError> {
    let opts = WatchOptions::new()
        .with_range(range_end)
        .with_start_revision(after + 1)
        .with_prev_key();
    let mut stream = client
        .watch(prefix.as_bytes(), Some(opts))
        .await
        .map_err(|e| convert::map_err(e, None, 0))?;
    let (tx, rx) = mpsc::channel(STREAM_BUFFER);
    tokio::spawn(async move {
        loop {
            let msg = tokio::select! {
                m = stream.message() => m,
                () = tx.closed() => return,
            };
            let resp = match msg {
                Ok(Some(resp)) => resp,
                Ok(None) => {
                    let _ = tx
                        .send(Err(StoreError::Backend("etcd watch closed".to_owned())))
                        .await;
                    return;
                }
                Err(e) => {
                    let _ = tx.send(Err(convert::map_err(e, None, 0))).await;
                    return;
                }
            };
            for ev in resp.events() {
                if tx.send(convert::event(ev)).await.is_err() {
                    return;
                }
            }
            if resp.canceled() {
                let err = if resp.compact_revision() > 0 {
                    compacted.fetch_max(resp.compact_revision(), Ordering::SeqCst);
                    StoreError::Compacted {
                        requested: after,
                        compacted: resp.compact_revision(),
                    }
                } else {
                    StoreError::Backend(format!(
                        "etcd cancelled the watch: {}",
                        resp.cancel_reason()
                    ))
                };
                let _ = tx.send(Err(err)).await;
                return;
            }
        }
    });
    Ok(Box::pin(ReceiverStream::new(rx)))
}
