//! apps and batch resources (Deployments, ReplicaSets, StatefulSets, DaemonSets, Jobs,
//! CronJobs…): a new object starts with an empty status, which the controllers fill.

use super::Strategy;
use serde_json::{json, Value};

/// The strategy of every apps/batch resource.
pub struct WorkloadStrategy;

impl Strategy for WorkloadStrategy {
    fn prepare_for_create(&self, obj: &mut Value) {
        obj["status"] = json!({});
    }
}
