//! Talking back to the API server: the binding, the `Scheduled`/`FailedScheduling` events
//! and the `PodScheduled=False` condition.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Binding, ObjectReference, Pod, PodCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use skiff_client::events::{EventType, Recorder};
use tracing::debug;

/// How a binding attempt ended.
#[derive(Debug)]
pub enum BindOutcome {
    /// Bound.
    Bound,
    /// The pod is gone or already bound elsewhere: drop it.
    Gone,
    /// Failed for another reason: retry after back-off.
    Failed(String),
}

/// The Binding object for `pod` → `node`.
pub fn binding(pod: &Pod, node: &str) -> Binding {
    Binding {
        metadata: ObjectMeta {
            name: pod.metadata.name.clone(),
            namespace: pod.metadata.namespace.clone(),
            uid: pod.metadata.uid.clone(),
            ..Default::default()
        },
        target: ObjectReference {
            kind: Some("Node".into()),
            api_version: Some("v1".into()),
            name: Some(node.into()),
            ..Default::default()
        },
    }
}

/// Records the `Scheduled` event of a bound pod.
pub async fn record_scheduled(recorder: &Recorder, pod: &Pod, node: &str) {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let name = pod.metadata.name.as_deref().unwrap_or("");
    recorder
        .record(
            pod,
            EventType::Normal,
            "Scheduled",
            &format!("Successfully assigned {ns}/{name} to {node}"),
        )
        .await;
}

/// POSTs `pods/{name}/binding` (the `Scheduled` event is the caller's: see
/// [`record_scheduled`]).
pub async fn bind(client: kube::Client, pod: &Pod, node: &str) -> BindOutcome {
    let ns = pod
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".into());
    let name = pod.metadata.name.clone().unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(client, &ns);
    let res: Result<serde_json::Value, kube::Error> = api
        .create_subresource(
            "binding",
            &name,
            &PostParams::default(),
            &binding(pod, node),
        )
        .await;
    match res {
        Ok(_) => BindOutcome::Bound,
        Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => {
            debug!(pod = %name, error = %e.message, "binding dropped");
            BindOutcome::Gone
        }
        Err(e) => BindOutcome::Failed(e.to_string()),
    }
}

/// The pod's conditions with `PodScheduled=False/Unschedulable` set to `message`
/// (other conditions kept, so both strategic and merge patches give the same result).
pub fn unschedulable_conditions(pod: &Pod, message: &str, now: Timestamp) -> Vec<PodCondition> {
    let mut conds: Vec<PodCondition> = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let previous = conds.iter().position(|c| c.type_ == "PodScheduled");
    let transition = previous
        .and_then(|i| {
            conds[i]
                .last_transition_time
                .clone()
                .filter(|_| conds[i].status == "False")
        })
        .unwrap_or(Time(now));
    let cond = PodCondition {
        type_: "PodScheduled".into(),
        status: "False".into(),
        reason: Some("Unschedulable".into()),
        message: Some(message.into()),
        last_transition_time: Some(transition),
        last_probe_time: None,
        ..Default::default()
    };
    match previous {
        Some(i) => conds[i] = cond,
        None => conds.push(cond),
    }
    conds
}

/// Records `FailedScheduling` and sets the pod's `PodScheduled` condition.
pub async fn report_unschedulable(
    client: kube::Client,
    recorder: Recorder,
    pod: Arc<Pod>,
    message: String,
) {
    recorder
        .record(
            pod.as_ref(),
            EventType::Warning,
            "FailedScheduling",
            &message,
        )
        .await;
    let already = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "PodScheduled"))
        .is_some_and(|c| c.status == "False" && c.message.as_deref() == Some(message.as_str()));
    if already {
        return;
    }
    let ns = pod
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".into());
    let name = pod.metadata.name.clone().unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(client, &ns);
    let conds = unschedulable_conditions(&pod, &message, Timestamp::now());
    let patch = json!({"status": {"conditions": conds}});
    if let Err(e) = api
        .patch_status(&name, &PatchParams::default(), &Patch::Strategic(patch))
        .await
    {
        debug!(pod = %name, error = %e, "setting PodScheduled condition");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn condition_replaces_previous_and_keeps_others() {
        let pod: Pod = serde_json::from_value(json!({"metadata": {"name": "p"}, "status": {"conditions": [
            {"type": "Other", "status": "True"},
            {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "old", "lastTransitionTime": "2024-01-01T00:00:00Z"}
        ]}}))
        .unwrap();
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let c = unschedulable_conditions(&pod, "new", now);
        assert_eq!(c.len(), 2);
        assert_eq!(c[1].message.as_deref(), Some("new"));
        assert_eq!(
            c[1].last_transition_time.as_ref().unwrap().0.as_second(),
            1_704_067_200
        );
        let b = binding(&pod, "n1");
        assert_eq!(b.target.name.as_deref(), Some("n1"));
        assert_eq!(b.target.kind.as_deref(), Some("Node"));
    }
}
