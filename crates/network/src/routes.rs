//! Which routes a host-gw node needs (one per other node's pod CIDR, through that node's
//! InternalIP) and the changes that bring the kernel's table there: pure functions.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use k8s_openapi::api::core::v1::Node;

/// A route to a pod CIDR through a gateway.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Route {
    /// Destination, normalised to `a.b.c.d/len`.
    pub dst: String,
    /// Next hop: the InternalIP of the node owning `dst`.
    pub via: IpAddr,
}

/// One step towards the wanted table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteChange {
    /// Add the route, or move an existing one for the same destination to this gateway.
    Replace(Route),
    /// Remove our route to this destination.
    Delete(String),
}

/// `addr/len` with the address masked to the prefix, or `None` when not IPv4 CIDR.
/// A bare address is a /32 (as `ip route` prints host routes).
pub fn normalize_cidr(cidr: &str) -> Option<String> {
    let (addr, len) = cidr.split_once('/').unwrap_or((cidr, "32"));
    let addr: Ipv4Addr = addr.parse().ok()?;
    let len: u32 = len.parse().ok().filter(|l| *l <= 32)?;
    let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
    Some(format!("{}/{len}", Ipv4Addr::from(u32::from(addr) & mask)))
}

/// The node's pod CIDR (`spec.podCIDR`, else the first of `spec.podCIDRs`).
pub fn pod_cidr(node: &Node) -> Option<String> {
    let spec = node.spec.as_ref()?;
    let first = spec.pod_cidrs.as_ref().and_then(|c| c.first());
    spec.pod_cidr
        .as_ref()
        .or(first)
        .and_then(|c| normalize_cidr(c))
}

/// The node's first IPv4 InternalIP.
pub fn internal_ip(node: &Node) -> Option<IpAddr> {
    let addresses = node.status.as_ref()?.addresses.as_ref()?;
    addresses
        .iter()
        .filter(|a| a.type_ == "InternalIP")
        .find_map(|a| a.address.parse::<Ipv4Addr>().ok())
        .map(IpAddr::V4)
}

/// The routes node `own` needs: every other live node with a pod CIDR and an InternalIP.
/// When two nodes claim one CIDR, the first by name wins (the allocator never does this).
pub fn wanted(own: &str, nodes: &[&Node]) -> Vec<Route> {
    let mut by_name: Vec<&Node> = nodes
        .iter()
        .copied()
        .filter(|n| n.metadata.name.as_deref() != Some(own))
        .filter(|n| n.metadata.deletion_timestamp.is_none())
        .collect();
    by_name.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let mut out: BTreeMap<String, IpAddr> = BTreeMap::new();
    for node in by_name {
        if let (Some(dst), Some(via)) = (pod_cidr(node), internal_ip(node)) {
            out.entry(dst).or_insert(via);
        }
    }
    out.into_iter()
        .map(|(dst, via)| Route { dst, via })
        .collect()
}

/// The changes turning `current` (the routes we own in the kernel) into `wanted`:
/// deletions first, then additions and moves, each in destination order.
pub fn plan(wanted: &[Route], current: &[Route]) -> Vec<RouteChange> {
    let stale: BTreeSet<&String> = current
        .iter()
        .map(|c| &c.dst)
        .filter(|dst| !wanted.iter().any(|w| &w.dst == *dst))
        .collect();
    let missing: BTreeSet<&Route> = wanted.iter().filter(|w| !current.contains(w)).collect();
    let deletions = stale
        .into_iter()
        .map(|dst| RouteChange::Delete(dst.clone()));
    let replacements = missing.into_iter().map(|r| RouteChange::Replace(r.clone()));
    deletions.chain(replacements).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, cidr: Option<&str>, ip: Option<&str>) -> Node {
        let mut doc = serde_json::json!({"metadata": {"name": name}, "spec": {}, "status": {}});
        if let Some(c) = cidr {
            doc["spec"]["podCIDR"] = c.into();
        }
        if let Some(ip) = ip {
            doc["status"]["addresses"] = serde_json::json!([
                {"type": "Hostname", "address": name},
                {"type": "InternalIP", "address": ip},
            ]);
        }
        serde_json::from_value(doc).unwrap()
    }

    fn route(dst: &str, via: &str) -> Route {
        Route {
            dst: dst.into(),
            via: via.parse().unwrap(),
        }
    }

    #[test]
    fn normalises_cidrs() {
        let cases = [
            ("10.42.1.0/24", Some("10.42.1.0/24")),
            ("10.42.1.7/24", Some("10.42.1.0/24")),
            ("10.42.1.7", Some("10.42.1.7/32")),
            ("0.0.0.0/0", Some("0.0.0.0/0")),
            ("10.42.1.0/33", None),
            ("fd00::/64", None),
            ("nonsense", None),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_cidr(input).as_deref(), want, "{input}");
        }
    }

    #[test]
    fn wants_a_route_to_every_other_ready_node() {
        let a = node("a", Some("10.42.0.0/24"), Some("172.30.0.2"));
        let b = node("b", Some("10.42.1.0/24"), Some("172.30.0.3"));
        let c = node("c", Some("10.42.2.0/24"), Some("172.30.0.4"));
        let no_cidr = node("d", None, Some("172.30.0.5"));
        let no_ip = node("e", Some("10.42.4.0/24"), None);
        let twin = node("f", Some("10.42.2.0/24"), Some("172.30.0.9"));
        let mut gone = node("g", Some("10.42.6.0/24"), Some("172.30.0.8"));
        gone.metadata.deletion_timestamp =
            serde_json::from_value(serde_json::json!("2024-05-01T10:00:00Z")).unwrap();
        let cases: Vec<(&str, Vec<&Node>, Vec<Route>)> = vec![
            ("a", vec![&a], vec![]),
            ("a", vec![&a, &b], vec![route("10.42.1.0/24", "172.30.0.3")]),
            (
                "b",
                vec![&c, &a, &b],
                vec![
                    route("10.42.0.0/24", "172.30.0.2"),
                    route("10.42.2.0/24", "172.30.0.4"),
                ],
            ),
            ("a", vec![&a, &no_cidr, &no_ip, &gone], vec![]),
            (
                "a",
                vec![&twin, &c],
                vec![route("10.42.2.0/24", "172.30.0.4")],
            ),
        ];
        for (own, nodes, want) in cases {
            assert_eq!(wanted(own, &nodes), want, "{own} among {}", nodes.len());
        }
    }

    #[test]
    fn plans_the_difference() {
        let b = route("10.42.1.0/24", "172.30.0.3");
        let c = route("10.42.2.0/24", "172.30.0.4");
        let c_moved = route("10.42.2.0/24", "172.30.0.7");
        let cases = [
            (vec![], vec![], vec![]),
            (vec![b.clone()], vec![b.clone()], vec![]),
            (
                vec![b.clone(), c.clone()],
                vec![],
                vec![
                    RouteChange::Replace(b.clone()),
                    RouteChange::Replace(c.clone()),
                ],
            ),
            (
                vec![b.clone()],
                vec![b.clone(), c.clone()],
                vec![RouteChange::Delete(c.dst.clone())],
            ),
            (
                vec![c_moved.clone()],
                vec![b.clone(), c.clone()],
                vec![
                    RouteChange::Delete(b.dst.clone()),
                    RouteChange::Replace(c_moved),
                ],
            ),
        ];
        for (want, current, changes) in cases {
            assert_eq!(plan(&want, &current), changes, "{want:?} from {current:?}");
        }
    }
}
