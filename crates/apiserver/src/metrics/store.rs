//! Store latency as upstream reports etcd's: every store call the API server makes is
//! timed into `etcd_request_duration_seconds{operation,type}`, whatever the backend
//! (SQLite or etcd). `type` is the resource (`pods`, `deployments.apps`).

use futures::stream::BoxStream;
use skiff_metrics::HistogramVec;
use skiff_store::{Event, KeyValue, ListResult, Store, StoreError};
use std::sync::Arc;
use std::time::Instant;

/// Upstream's buckets for API server and storage latencies, in seconds.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0,
    10.0, 15.0, 20.0, 30.0, 45.0, 60.0,
];

/// A store whose calls are timed.
pub struct MeasuredStore {
    inner: Arc<dyn Store>,
    latency: HistogramVec,
}

impl MeasuredStore {
    /// Times `inner`'s calls.
    pub fn wrap(inner: Arc<dyn Store>) -> Arc<dyn Store> {
        let latency = skiff_metrics::global().histogram_vec(
            "etcd_request_duration_seconds",
            "Etcd request latency in seconds for each operation and object type.",
            &["operation", "type"],
            LATENCY_BUCKETS,
        );
        Arc::new(MeasuredStore { inner, latency })
    }

    fn observe(&self, operation: &str, key: &str, start: Instant) {
        let ty = object_type(key);
        self.latency
            .observe(&[operation, &ty], start.elapsed().as_secs_f64());
    }
}

/// The resource a key or prefix belongs to: `/registry/core/pods/…` → `pods`,
/// `/registry/apps/deployments/…` → `deployments.apps`.
pub fn object_type(key: &str) -> String {
    let Some(rest) = key.strip_prefix("/registry/") else {
        return "unknown".to_string();
    };
    let mut parts = rest.split('/');
    match (parts.next(), parts.next()) {
        (Some("core"), Some(plural)) if !plural.is_empty() => plural.to_string(),
        (Some(group), Some(plural)) if !plural.is_empty() => format!("{plural}.{group}"),
        _ => "unknown".to_string(),
    }
}

#[async_trait::async_trait]
impl Store for MeasuredStore {
    async fn create(&self, key: &str, value: Vec<u8>) -> Result<KeyValue, StoreError> {
        let start = Instant::now();
        let r = self.inner.create(key, value).await;
        self.observe("create", key, start);
        r
    }

    async fn get(&self, key: &str, revision: Option<i64>) -> Result<Option<KeyValue>, StoreError> {
        let start = Instant::now();
        let r = self.inner.get(key, revision).await;
        self.observe("get", key, start);
        r
    }

    async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
        revision: Option<i64>,
    ) -> Result<ListResult, StoreError> {
        let start = Instant::now();
        let r = self.inner.list(prefix, start_after, limit, revision).await;
        self.observe("list", prefix, start);
        r
    }

    async fn update(
        &self,
        key: &str,
        value: Vec<u8>,
        expected_mod_revision: i64,
    ) -> Result<KeyValue, StoreError> {
        let start = Instant::now();
        let r = self.inner.update(key, value, expected_mod_revision).await;
        self.observe("update", key, start);
        r
    }

    async fn delete(
        &self,
        key: &str,
        expected_mod_revision: Option<i64>,
    ) -> Result<KeyValue, StoreError> {
        let start = Instant::now();
        let r = self.inner.delete(key, expected_mod_revision).await;
        self.observe("delete", key, start);
        r
    }

    async fn watch(
        &self,
        prefix: &str,
        after_revision: i64,
    ) -> Result<BoxStream<'static, Result<Event, StoreError>>, StoreError> {
        self.inner.watch(prefix, after_revision).await
    }

    async fn current_revision(&self) -> Result<i64, StoreError> {
        self.inner.current_revision().await
    }

    async fn compact(&self, revision: i64) -> Result<(), StoreError> {
        self.inner.compact(revision).await
    }

    async fn compacted_revision(&self) -> Result<i64, StoreError> {
        self.inner.compacted_revision().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_types() {
        let cases = [
            ("/registry/core/pods/default/web", "pods"),
            ("/registry/core/nodes/", "nodes"),
            ("/registry/apps/deployments/d/x", "deployments.apps"),
            (
                "/registry/coordination.k8s.io/leases/",
                "leases.coordination.k8s.io",
            ),
            ("/other", "unknown"),
        ];
        for (key, want) in cases {
            assert_eq!(object_type(key), want, "{key}");
        }
    }
}
