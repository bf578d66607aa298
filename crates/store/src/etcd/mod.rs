//! The etcd backend: the `Store` contract mapped onto etcd v3 transactions.
//!
//! Revisions are etcd's own. Create is a transaction guarded by
//! `create_revision == 0`; update and conditional delete are guarded by
//! `mod_revision == expected` (and existence). Watches are etcd watches with
//! `prev_kv`. Compaction follows the Kubernetes API server: the compacted
//! revision is recorded in the key `compact_rev_key` (etcd has no call that
//! reports it), then etcd compacts physically.

mod convert;
mod watch;

use crate::keyrange::prefix_end;
use crate::{Event, KeyValue, ListResult, Store, StoreError};
use convert::{header_revision, map_err};
use etcd_client::{
    Client, CompactionOptions, Compare, CompareOp, ConnectOptions, DeleteOptions, GetOptions,
    PutOptions, Txn, TxnOp, TxnOpResponse,
};
use futures::stream::BoxStream;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Where the compacted revision is recorded (the Kubernetes API server's key).
const COMPACT_REV_KEY: &str = "compact_rev_key";

/// A store backed by an etcd v3 cluster.
#[derive(Clone)]
pub struct EtcdStore {
    client: Client,
    /// Highest compacted revision this process has seen.
    compacted: Arc<AtomicI64>,
}

impl std::fmt::Debug for EtcdStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdStore")
            .field("compacted", &self.compacted.load(Ordering::SeqCst))
            .finish_non_exhaustive()
    }
}

/// The `[key, range_end)` of a prefix (etcd's "\0" means "to the end").
fn prefix_range(prefix: &str) -> (Vec<u8>, Vec<u8>) {
    let key = if prefix.is_empty() {
        vec![0]
    } else {
        prefix.as_bytes().to_vec()
    };
    let end = prefix_end(prefix).map_or_else(|| vec![0], String::into_bytes);
    (key, end)
}

impl EtcdStore {
    /// Connects to etcd at `endpoints` (e.g. `http://127.0.0.1:2379`).
    pub async fn connect<E: AsRef<str>>(endpoints: &[E]) -> Result<EtcdStore, StoreError> {
        let opts = ConnectOptions::new()
            .with_connect_timeout(Duration::from_secs(5))
            .with_keep_alive(Duration::from_secs(10), Duration::from_secs(5));
        let client = Client::connect(endpoints, Some(opts))
            .await
            .map_err(|e| map_err(e, None, 0))?;
        let store = EtcdStore {
            client,
            compacted: Arc::new(AtomicI64::new(0)),
        };
        // Fail fast when nothing answers, and learn the compacted revision.
        store.recorded_compaction().await?;
        Ok(store)
    }

    /// Reads the compacted revision recorded in `compact_rev_key`.
    async fn recorded_compaction(&self) -> Result<i64, StoreError> {
        let resp = self
            .client
            .clone()
            .get(COMPACT_REV_KEY, None)
            .await
            .map_err(|e| map_err(e, None, 0))?;
        let recorded = resp
            .kvs()
            .first()
            .and_then(|kv| std::str::from_utf8(kv.value()).ok()?.parse::<i64>().ok())
            .unwrap_or(0);
        Ok(self
            .compacted
            .fetch_max(recorded, Ordering::SeqCst)
            .max(recorded))
    }

    /// Maps an error for a call at `revision`, filling in the compacted revision.
    async fn revision_err(&self, e: etcd_client::Error, revision: Option<i64>) -> StoreError {
        let known = self.recorded_compaction().await.unwrap_or(0);
        map_err(e, revision, known)
    }

    /// Runs a transaction guarded by `when`; on failure the key is read back.
    async fn guarded(
        &self,
        when: Vec<Compare>,
        then: TxnOp,
        key: &str,
    ) -> Result<(bool, i64, Vec<TxnOpResponse>), StoreError> {
        let txn = Txn::new()
            .when(when)
            .and_then(vec![then])
            .or_else(vec![TxnOp::get(key, None)]);
        let resp = self
            .client
            .clone()
            .txn(txn)
            .await
            .map_err(|e| map_err(e, None, 0))?;
        Ok((
            resp.succeeded(),
            header_revision(resp.header()),
            resp.op_responses(),
        ))
    }
}

/// Why a guarded write on `key` failed, from the read-back in the else branch.
fn guard_failure(key: &str, expected: Option<i64>, responses: &[TxnOpResponse]) -> StoreError {
    let current = responses.iter().find_map(|r| match r {
        TxnOpResponse::Get(g) => g.kvs().first().map(|kv| kv.mod_revision()),
        _ => None,
    });
    match (current, expected) {
        (Some(actual), Some(expected)) => StoreError::Conflict {
            key: key.to_owned(),
            expected,
            actual,
        },
        _ => StoreError::NotFound(key.to_owned()),
    }
}

/// The previous key-value pair returned by a put or delete in a transaction.
fn prev_of(responses: &[TxnOpResponse]) -> Result<Option<KeyValue>, StoreError> {
    let prev = responses.iter().find_map(|r| match r {
        TxnOpResponse::Put(p) => p.prev_key().cloned(),
        TxnOpResponse::Delete(d) => d.prev_kvs().first().cloned(),
        _ => None,
    });
    prev.as_ref().map(convert::kv).transpose()
}

#[async_trait::async_trait]
impl Store for EtcdStore {
    async fn create(&self, key: &str, value: Vec<u8>) -> Result<KeyValue, StoreError> {
        let when = vec![Compare::create_revision(key, CompareOp::Equal, 0)];
        let (ok, rev, _) = self
            .guarded(when, TxnOp::put(key, value.clone(), None), key)
            .await?;
        if !ok {
            return Err(StoreError::AlreadyExists(key.to_owned()));
        }
        Ok(KeyValue {
            key: key.to_owned(),
            value,
            create_revision: rev,
            mod_revision: rev,
        })
    }

    async fn get(&self, key: &str, revision: Option<i64>) -> Result<Option<KeyValue>, StoreError> {
        let opts = revision.map(|r| GetOptions::new().with_revision(r));
        match self.client.clone().get(key, opts).await {
            Ok(resp) => resp.kvs().first().map(convert::kv).transpose(),
            Err(e) => Err(self.revision_err(e, revision).await),
        }
    }

    async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
        revision: Option<i64>,
    ) -> Result<ListResult, StoreError> {
        let (mut key, end) = prefix_range(prefix);
        if let Some(after) = start_after.filter(|a| *a >= prefix) {
            key = after.as_bytes().to_vec();
            key.push(0);
        }
        let mut opts = GetOptions::new().with_range(end);
        if limit > 0 {
            opts = opts.with_limit(i64::try_from(limit).unwrap_or(i64::MAX));
        }
        if let Some(r) = revision {
            opts = opts.with_revision(r);
        }
        let resp = match self.client.clone().get(key, Some(opts)).await {
            Ok(resp) => resp,
            Err(e) => return Err(self.revision_err(e, revision).await),
        };
        let items = resp
            .kvs()
            .iter()
            .map(convert::kv)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ListResult {
            items,
            revision: revision.unwrap_or_else(|| header_revision(resp.header())),
            more: resp.more(),
        })
    }

    async fn update(
        &self,
        key: &str,
        value: Vec<u8>,
        expected_mod_revision: i64,
    ) -> Result<KeyValue, StoreError> {
        let when = vec![
            Compare::create_revision(key, CompareOp::Greater, 0),
            Compare::mod_revision(key, CompareOp::Equal, expected_mod_revision),
        ];
        let put = TxnOp::put(key, value.clone(), Some(PutOptions::new().with_prev_key()));
        let (ok, rev, responses) = self.guarded(when, put, key).await?;
        if !ok {
            return Err(guard_failure(key, Some(expected_mod_revision), &responses));
        }
        let create_revision = prev_of(&responses)?.map_or(rev, |p| p.create_revision);
        Ok(KeyValue {
            key: key.to_owned(),
            value,
            create_revision,
            mod_revision: rev,
        })
    }

    async fn delete(
        &self,
        key: &str,
        expected_mod_revision: Option<i64>,
    ) -> Result<KeyValue, StoreError> {
        let mut when = vec![Compare::create_revision(key, CompareOp::Greater, 0)];
        if let Some(expected) = expected_mod_revision {
            when.push(Compare::mod_revision(key, CompareOp::Equal, expected));
        }
        let del = TxnOp::delete(key, Some(DeleteOptions::new().with_prev_key()));
        let (ok, rev, responses) = self.guarded(when, del, key).await?;
        if !ok {
            return Err(guard_failure(key, expected_mod_revision, &responses));
        }
        let prev = prev_of(&responses)?.ok_or_else(|| StoreError::NotFound(key.to_owned()))?;
        Ok(KeyValue {
            mod_revision: rev,
            ..prev
        })
    }

    async fn watch(
        &self,
        prefix: &str,
        after_revision: i64,
    ) -> Result<BoxStream<'static, Result<Event, StoreError>>, StoreError> {
        let compacted = self.recorded_compaction().await?;
        if after_revision < compacted {
            return Err(StoreError::Compacted {
                requested: after_revision,
                compacted,
            });
        }
        if after_revision > 0 {
            // Probe: fails for future revisions and for compactions done
            // outside this store (etcd auto-compaction).
            let probe = GetOptions::new()
                .with_revision(after_revision)
                .with_count_only();
            if let Err(e) = self.client.clone().get(COMPACT_REV_KEY, Some(probe)).await {
                return Err(self.revision_err(e, Some(after_revision)).await);
            }
        }
        let (key, end) = prefix_range(prefix);
        let key = String::from_utf8(key).unwrap_or_default();
        watch::start(
            self.client.clone(),
            key,
            end,
            after_revision,
            Arc::clone(&self.compacted),
        )
        .await
    }

    async fn current_revision(&self) -> Result<i64, StoreError> {
        let opts = GetOptions::new().with_count_only();
        let resp = self
            .client
            .clone()
            .get(COMPACT_REV_KEY, Some(opts))
            .await
            .map_err(|e| map_err(e, None, 0))?;
        Ok(header_revision(resp.header()))
    }

    async fn compact(&self, revision: i64) -> Result<(), StoreError> {
        let opts = CompactionOptions::new().with_physical();
        match self.client.clone().compact(revision, Some(opts)).await {
            Ok(_) => {}
            Err(e) => match self.revision_err(e, Some(revision)).await {
                // Already compacted at or past `revision`: nothing to do.
                StoreError::Compacted { .. } => return Ok(()),
                other => return Err(other),
            },
        }
        let recorded = self.recorded_compaction().await?;
        if revision > recorded {
            self.client
                .clone()
                .put(COMPACT_REV_KEY, revision.to_string(), None)
                .await
                .map_err(|e| map_err(e, None, 0))?;
        }
        self.compacted.fetch_max(revision, Ordering::SeqCst);
        tracing::debug!(revision, "compacted etcd");
        Ok(())
    }

    async fn compacted_revision(&self) -> Result<i64, StoreError> {
        self.recorded_compaction().await
    }
}
