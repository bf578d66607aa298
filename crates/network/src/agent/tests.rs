//! The sync pass against a recording fake kernel.

use std::sync::Mutex;

use async_trait::async_trait;

use super::*;
use crate::routes::Route;

#[derive(Default)]
struct FakeKernel {
    routes: Mutex<Vec<Route>>,
    rules: Mutex<Vec<Vec<String>>>,
    refuse_via: Option<std::net::IpAddr>,
}

#[async_trait]
impl Kernel for FakeKernel {
    async fn routes(&self) -> Result<Vec<Route>, KernelError> {
        Ok(self.routes.lock().unwrap().clone())
    }
    async fn replace_route(&self, route: &Route) -> Result<(), KernelError> {
        if Some(route.via) == self.refuse_via {
            return Err(KernelError::GatewayNotOnLink(route.via));
        }
        let mut routes = self.routes.lock().unwrap();
        routes.retain(|r| r.dst != route.dst);
        routes.push(route.clone());
        Ok(())
    }
    async fn delete_route(&self, dst: &str) -> Result<(), KernelError> {
        self.routes.lock().unwrap().retain(|r| r.dst != dst);
        Ok(())
    }
    async fn ensure_nat_rule(&self, rule: &[String]) -> Result<(), KernelError> {
        let mut rules = self.rules.lock().unwrap();
        if !rules.iter().any(|r| r == rule) {
            rules.push(rule.to_vec());
        }
        Ok(())
    }
    async fn enable_forwarding(&self) -> Result<(), KernelError> {
        Ok(())
    }
}

fn node(name: &str, cidr: &str, ip: &str) -> Node {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": name},
        "spec": {"podCIDR": cidr},
        "status": {"addresses": [{"type": "InternalIP", "address": ip}]},
    }))
    .unwrap()
}

fn cfg() -> NetworkConfig {
    NetworkConfig {
        node_name: "a".into(),
        backend: FlannelBackend::HostGw,
        cluster_cidr: "10.21.0.0/16".into(),
        tag: "skmn1".into(),
        resync: Duration::from_secs(10),
    }
}

fn dsts(kernel: &FakeKernel) -> Vec<(String, String)> {
    let mut got: Vec<(String, String)> = kernel
        .routes
        .lock()
        .unwrap()
        .iter()
        .map(|r| (r.dst.clone(), r.via.to_string()))
        .collect();
    got.sort();
    got
}

#[tokio::test]
async fn follows_nodes_coming_and_going() {
    let kernel = FakeKernel::default();
    let (a, b, c) = (
        node("a", "10.21.0.0/24", "172.30.1.2"),
        node("b", "10.21.1.0/24", "172.30.1.3"),
        node("c", "10.21.2.0/24", "172.30.1.4"),
    );
    sync(&cfg(), &kernel, &[&a, &b, &c]).await.unwrap();
    let want = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(d, v)| (d.to_string(), v.to_string()))
            .collect()
    };
    assert_eq!(
        dsts(&kernel),
        want(&[
            ("10.21.1.0/24", "172.30.1.3"),
            ("10.21.2.0/24", "172.30.1.4")
        ])
    );
    assert_eq!(kernel.rules.lock().unwrap().len(), 2);
    // c goes away; syncing again is idempotent for the rest.
    sync(&cfg(), &kernel, &[&a, &b]).await.unwrap();
    sync(&cfg(), &kernel, &[&a, &b]).await.unwrap();
    assert_eq!(dsts(&kernel), want(&[("10.21.1.0/24", "172.30.1.3")]));
    assert_eq!(kernel.rules.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn an_off_link_gateway_is_an_error_and_the_rest_still_syncs() {
    let kernel = FakeKernel {
        refuse_via: Some("192.0.2.1".parse().unwrap()),
        ..Default::default()
    };
    let far = node("far", "10.21.5.0/24", "192.0.2.1");
    let b = node("b", "10.21.1.0/24", "172.30.1.3");
    let errors = sync(&cfg(), &kernel, &[&far, &b]).await.unwrap_err();
    assert!(matches!(
        errors.as_slice(),
        [KernelError::GatewayNotOnLink(_)]
    ));
    assert_eq!(
        dsts(&kernel),
        vec![("10.21.1.0/24".into(), "172.30.1.3".into())]
    );
}
