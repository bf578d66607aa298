//! A pod's QoS class (upstream's `ComputePodQOS`): from the CPU and memory requests and limits
//! of all its containers, init containers included, comparing parsed amounts.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Pod;
use serde_json::Value;

use crate::quantity::{Format, Quantity};
use crate::resources::{add_into, PodResources, ResourceList};

/// `status.qosClass`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QosClass {
    /// Every container has equal CPU and memory requests and limits.
    Guaranteed,
    /// Something is requested or limited, but not as Guaranteed.
    Burstable,
    /// No CPU or memory requested or limited anywhere.
    BestEffort,
}

impl QosClass {
    /// The API spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            QosClass::Guaranteed => "Guaranteed",
            QosClass::Burstable => "Burstable",
            QosClass::BestEffort => "BestEffort",
        }
    }
}

/// Only these resources decide the class (hugepages and extended resources do not).
const QOS_RESOURCES: [&str; 2] = ["cpu", "memory"];

/// The positive CPU/memory amounts of a list.
fn counted(list: &ResourceList) -> ResourceList {
    let zero = Quantity::zero(Format::DecimalSi);
    list.iter()
        .filter(|(name, q)| QOS_RESOURCES.contains(&name.as_str()) && **q > zero)
        .map(|(name, q)| (name.clone(), *q))
        .collect()
}

impl PodResources {
    /// The QoS class. A request missing where a limit is set counts as equal to the limit,
    /// as upstream's defaulting has made it by the time the class is computed.
    pub fn qos_class(&self) -> QosClass {
        let mut requests = ResourceList::new();
        let mut limits = ResourceList::new();
        let mut guaranteed = true;
        for c in self.containers.iter().chain(&self.init_containers) {
            add_into(&mut requests, &counted(&c.defaulted_requests()));
            let own_limits = counted(&c.limits);
            let limited: BTreeSet<&str> = own_limits.keys().map(String::as_str).collect();
            if !QOS_RESOURCES.iter().all(|r| limited.contains(r)) {
                guaranteed = false;
            }
            add_into(&mut limits, &own_limits);
        }
        if requests.is_empty() && limits.is_empty() {
            return QosClass::BestEffort;
        }
        let matching = requests.len() == limits.len()
            && requests
                .iter()
                .all(|(name, req)| limits.get(name) == Some(req));
        if guaranteed && matching {
            QosClass::Guaranteed
        } else {
            QosClass::Burstable
        }
    }
}

/// The QoS class of a typed pod.
pub fn pod_qos_class(pod: &Pod) -> QosClass {
    PodResources::from_pod(pod).qos_class()
}

/// The QoS class of a raw JSON pod (the API server's entry point for `status.qosClass`).
pub fn pod_qos_class_json(pod: &Value) -> QosClass {
    PodResources::from_json(pod).qos_class()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A container with `cpu`/`memory` requests and limits ("" leaves one out).
    fn c(req: (&str, &str), lim: (&str, &str)) -> Value {
        let list = |(cpu, mem): (&str, &str)| {
            let mut m = serde_json::Map::new();
            if !cpu.is_empty() {
                m.insert("cpu".into(), json!(cpu));
            }
            if !mem.is_empty() {
                m.insert("memory".into(), json!(mem));
            }
            Value::Object(m)
        };
        json!({"name": "c", "resources": {"requests": list(req), "limits": list(lim)}})
    }

    fn class(containers: Vec<Value>, init: Vec<Value>) -> QosClass {
        let p = json!({"metadata": {"name": "p"}, "spec": {"containers": containers, "initContainers": init}});
        let typed: Pod = serde_json::from_value(p.clone()).unwrap_or_default();
        let from_json = pod_qos_class_json(&p);
        assert_eq!(
            pod_qos_class(&typed),
            from_json,
            "typed and JSON readers agree on {p}"
        );
        from_json
    }

    /// `TestComputePodQOS` (without the pod-level-resources cases) plus parsed comparison.
    #[test]
    fn qos_table() {
        use QosClass::*;
        let g = c(("100m", "100Mi"), ("100m", "100Mi"));
        let be = c(("", ""), ("", ""));
        let cases: Vec<(&str, Vec<Value>, Vec<Value>, QosClass)> = vec![
            ("guaranteed", vec![g.clone()], vec![], Guaranteed),
            (
                "guaranteed-guaranteed",
                vec![g.clone(), g.clone()],
                vec![],
                Guaranteed,
            ),
            (
                "best-effort-best-effort",
                vec![be.clone(), be.clone()],
                vec![],
                BestEffort,
            ),
            ("best-effort", vec![be.clone()], vec![], BestEffort),
            (
                "best-effort-burstable",
                vec![be.clone(), c(("1", ""), ("2", ""))],
                vec![],
                Burstable,
            ),
            (
                "best-effort-guaranteed",
                vec![be.clone(), c(("10m", "100Mi"), ("10m", "100Mi"))],
                vec![],
                Burstable,
            ),
            (
                "burstable-cpu-guaranteed-memory",
                vec![c(("", "100Mi"), ("", "100Mi"))],
                vec![],
                Burstable,
            ),
            (
                "burstable-no-limits",
                vec![c(("100m", "100Mi"), ("", ""))],
                vec![],
                Burstable,
            ),
            (
                "burstable-guaranteed",
                vec![c(("1", "100Mi"), ("2", "100Mi")), g.clone()],
                vec![],
                Burstable,
            ),
            (
                "burstable-unbounded-but-requests-match-limits",
                vec![
                    c(("100m", "100Mi"), ("200m", "200Mi")),
                    c(("100m", "100Mi"), ("", "")),
                ],
                vec![],
                Burstable,
            ),
            (
                "burstable-1",
                vec![c(("10m", "100Mi"), ("100m", "200Mi"))],
                vec![],
                Burstable,
            ),
            (
                "burstable-2",
                vec![c(("0", "0"), ("100m", "200Mi"))],
                vec![],
                Burstable,
            ),
            (
                "init-container",
                vec![be.clone()],
                vec![c(("10m", "100Mi"), ("100m", "200Mi"))],
                Burstable,
            ),
            (
                "guaranteed init container",
                vec![g.clone()],
                vec![g.clone()],
                Guaranteed,
            ),
            (
                "parsed, not spelled, amounts compare",
                vec![c(("1", "1Gi"), ("1000m", "1024Mi"))],
                vec![],
                Guaranteed,
            ),
            (
                "limits only: requests default to them",
                vec![c(("", ""), ("500m", "64Mi"))],
                vec![],
                Guaranteed,
            ),
            (
                "zero amounts do not count",
                vec![c(("0", "0"), ("0", "0"))],
                vec![],
                BestEffort,
            ),
        ];
        for (name, containers, init, want) in cases {
            assert_eq!(class(containers, init), want, "{name}");
        }
        let hugepages = json!({"name": "h", "resources": {
            "requests": {"cpu": "0", "memory": "0", "hugepages-2Mi": "1Gi"},
            "limits": {"cpu": "0", "memory": "0", "hugepages-2Mi": "1Gi"}}});
        assert_eq!(
            class(vec![hugepages], vec![]),
            BestEffort,
            "best-effort-hugepages"
        );
        assert_eq!(pod_qos_class_json(&json!({})), BestEffort);
        assert_eq!(Guaranteed.as_str(), "Guaranteed");
    }
}
