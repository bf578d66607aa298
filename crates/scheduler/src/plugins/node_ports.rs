//! NodePorts: a pod's host ports must be free on the node.

use crate::framework::{Code, FilterPlugin, HostPort, NodeInfo, PodToSchedule, Status};

/// Plugin name.
pub const NAME: &str = "NodePorts";
/// Reason text, as upstream words it.
pub const REASON: &str = "node(s) didn't have free ports for the requested pod ports";

/// Whether two host ports collide (same protocol and port, and same IP or a wildcard).
pub fn conflicts(a: &HostPort, b: &HostPort) -> bool {
    a.0 == b.0 && a.2 == b.2 && (a.1 == b.1 || a.1 == "0.0.0.0" || b.1 == "0.0.0.0")
}

/// The plugin.
pub struct NodePorts;

impl FilterPlugin for NodePorts {
    fn name(&self) -> &'static str {
        NAME
    }

    fn filter(&self, pod: &PodToSchedule<'_>, node: &NodeInfo) -> Status {
        let want = &pod.summary.host_ports;
        if want.is_empty() || node.used_ports.is_empty() {
            return Status::success();
        }
        if want
            .iter()
            .any(|w| node.used_ports.iter().any(|u| conflicts(w, u)))
        {
            Status::new(Code::Unschedulable, REASON)
        } else {
            Status::success()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::PodSummary;
    use crate::plugins::testutil::{node, pod};
    use serde_json::json;

    fn port_pod(port: i32, ip: &str, proto: &str) -> serde_json::Value {
        json!({"containers": [{"name": "c", "ports": [{"containerPort": 80, "hostPort": port, "hostIP": ip, "protocol": proto}]}]})
    }

    #[test]
    fn table() {
        let cases = [
            (port_pod(8080, "", "TCP"), port_pod(8080, "", "TCP"), false),
            (port_pod(8080, "", "TCP"), port_pod(8081, "", "TCP"), true),
            (port_pod(8080, "", "UDP"), port_pod(8080, "", "TCP"), true),
            (
                port_pod(8080, "10.0.0.1", "TCP"),
                port_pod(8080, "10.0.0.2", "TCP"),
                true,
            ),
            (
                port_pod(8080, "10.0.0.1", "TCP"),
                port_pod(8080, "", "TCP"),
                false,
            ),
            (
                json!({"containers": [{"name": "c"}]}),
                port_pod(8080, "", "TCP"),
                true,
            ),
        ];
        for (existing, incoming, ok) in cases {
            let mut n = node("n", json!({}), json!({}));
            n.add_pod("default/old", PodSummary::of(&pod(existing.clone())));
            let p = pod(incoming.clone());
            let st = NodePorts.filter(&PodToSchedule::new(&p), &n);
            assert_eq!(st.is_success(), ok, "{existing} vs {incoming}");
            if !ok {
                assert_eq!(st.code, Code::Unschedulable);
                assert_eq!(st.reasons, vec![REASON.to_string()]);
            }
        }
    }
}
