//! A Deployment's ReplicaSets as data: which one carries the current pod template, their
//! revisions and sizes, and the new ReplicaSet built for a template
//! (`<name>-<pod-template-hash>`).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, ReplicaSetSpec};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;
use skiff_api::owner::new_controller_ref;

use super::{DESIRED, HASH_LABEL, MAX, REVISION};

fn template_value(t: Option<&PodTemplateSpec>) -> Value {
    let mut v = serde_json::to_value(t.cloned().unwrap_or_default()).unwrap_or(Value::Null);
    if let Some(labels) = v
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove(HASH_LABEL);
        if labels.is_empty() {
            if let Some(m) = v.pointer_mut("/metadata").and_then(Value::as_object_mut) {
                m.remove("labels");
            }
        }
    }
    v
}

/// Whether an RS template equals the deployment template, ignoring the hash label.
pub fn equal_ignore_hash(a: Option<&PodTemplateSpec>, b: Option<&PodTemplateSpec>) -> bool {
    template_value(a) == template_value(b)
}

/// Whether `rs` runs the deployment's current pod template.
pub fn is_current(d: &Deployment, rs: &ReplicaSet) -> bool {
    equal_ignore_hash(
        rs.spec.as_ref().and_then(|s| s.template.as_ref()),
        d.spec.as_ref().map(|s| &s.template),
    )
}

/// The revision number of an RS (0 if none).
pub fn revision(rs: &ReplicaSet) -> i64 {
    annotation(rs, REVISION).unwrap_or(0)
}

/// An integer annotation of an RS.
pub fn annotation(rs: &ReplicaSet, key: &str) -> Option<i64> {
    rs.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .and_then(|v| v.parse().ok())
}

/// spec.replicas of an RS (0 if unset).
pub fn spec_replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0)
}

/// status.availableReplicas of an RS (0 if unset).
pub fn available(rs: &ReplicaSet) -> i32 {
    rs.status
        .as_ref()
        .and_then(|s| s.available_replicas)
        .unwrap_or(0)
}

/// The new ReplicaSet object for a deployment template.
pub fn new_replicaset(
    d: &Deployment,
    hash: &str,
    replicas: i32,
    revision: i64,
    max_surge: i32,
) -> ReplicaSet {
    let spec = d.spec.clone().unwrap_or_default();
    let mut template = spec.template.clone();
    let meta = template.metadata.get_or_insert_with(Default::default);
    meta.labels
        .get_or_insert_with(BTreeMap::new)
        .insert(HASH_LABEL.into(), hash.into());
    let mut selector = spec.selector.clone();
    selector
        .match_labels
        .get_or_insert_with(BTreeMap::new)
        .insert(HASH_LABEL.into(), hash.into());
    let want = spec.replicas.unwrap_or(1);
    let annotations: BTreeMap<String, String> = [
        (REVISION.to_string(), revision.to_string()),
        (DESIRED.to_string(), want.to_string()),
        (MAX.to_string(), (want + max_surge).to_string()),
    ]
    .into();
    ReplicaSet {
        metadata: ObjectMeta {
            name: Some(format!(
                "{}-{hash}",
                d.metadata.name.as_deref().unwrap_or("")
            )),
            namespace: d.metadata.namespace.clone(),
            labels: meta.labels.clone(),
            annotations: Some(annotations),
            owner_references: Some(vec![new_controller_ref(d)]),
            ..Default::default()
        },
        spec: Some(ReplicaSetSpec {
            replicas: Some(replicas),
            min_ready_seconds: spec.min_ready_seconds,
            selector,
            template: Some(template),
        }),
        status: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::pod_template_hash;
    use serde_json::json;

    #[test]
    fn new_rs_shape() {
        let d: Deployment = serde_json::from_value(json!({"metadata": {"name": "web", "namespace": "default", "uid": "u"},
            "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}))
        .unwrap();
        let hash = pod_template_hash(&d.spec.as_ref().unwrap().template, None);
        let rs = new_replicaset(&d, &hash, 1, 3, 1);
        assert_eq!(
            rs.metadata.name.as_deref(),
            Some(format!("web-{hash}").as_str())
        );
        let ann = rs.metadata.annotations.as_ref().unwrap();
        assert_eq!(
            (
                ann[REVISION].as_str(),
                ann[DESIRED].as_str(),
                ann[MAX].as_str()
            ),
            ("3", "4", "5")
        );
        let spec = rs.spec.as_ref().unwrap();
        assert_eq!(
            spec.selector.match_labels.as_ref().unwrap()[HASH_LABEL],
            hash
        );
        assert_eq!(
            spec.template
                .as_ref()
                .unwrap()
                .metadata
                .as_ref()
                .unwrap()
                .labels
                .as_ref()
                .unwrap()[HASH_LABEL],
            hash
        );
        assert!(equal_ignore_hash(
            spec.template.as_ref(),
            Some(&d.spec.as_ref().unwrap().template)
        ));
        assert!(is_current(&d, &rs));
        let oref = &rs.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(
            (oref.controller, oref.block_owner_deletion),
            (Some(true), Some(true))
        );
        assert_eq!((oref.kind.as_str(), oref.uid.as_str()), ("Deployment", "u"));
        assert_eq!(
            (revision(&rs), spec_replicas(&rs), available(&rs)),
            (3, 1, 0)
        );
    }
}
