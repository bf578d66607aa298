//! The kernel seam: routes we own (tagged with our route protocol) and `nat` rules, through
//! the `ip` and `iptables` tools of the node's network namespace.
//!
//! `ip`/`iptables` rather than the `rtnetlink` crate: the commands are what the CNI
//! plugins already need on every node, and a handful of calls per Node change costs
//! nothing that matters; the trait keeps the choice replaceable.

use std::net::IpAddr;

use async_trait::async_trait;
use serde_json::Value;
use tokio::process::Command;

use crate::routes::{normalize_cidr, Route};

/// The route protocol number marking Skiff's routes (`ip route … proto 77`), so a sync
/// never touches routes it did not make.
pub const ROUTE_PROTOCOL: &str = "77";

/// Kernel failures.
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    /// A tool could not be started.
    #[error("running {tool}: {source}")]
    Spawn {
        /// `ip` or `iptables`.
        tool: &'static str,
        /// Cause.
        source: std::io::Error,
    },
    /// A tool refused.
    #[error("{tool} {args}: {message}")]
    Failed {
        /// `ip` or `iptables`.
        tool: &'static str,
        /// Its arguments.
        args: String,
        /// Its stderr.
        message: String,
    },
    /// A gateway is not on a directly connected network: host-gw needs one L2 segment,
    /// and a pod CIDR must never be routed towards some other router.
    #[error("gateway {0} is not on a directly connected network (host-gw needs the nodes on one L2 segment)")]
    GatewayNotOnLink(IpAddr),
    /// A file under /proc could not be written.
    #[error("writing {path}: {source}")]
    Sysctl {
        /// The file.
        path: &'static str,
        /// Cause.
        source: std::io::Error,
    },
}

/// What the network agent needs from the kernel.
#[async_trait]
pub trait Kernel: Send + Sync {
    /// Our routes (protocol [`ROUTE_PROTOCOL`]) in the main table.
    async fn routes(&self) -> Result<Vec<Route>, KernelError>;
    /// Adds the route, or moves ours for the same destination.
    async fn replace_route(&self, route: &Route) -> Result<(), KernelError>;
    /// Deletes our route to `dst`.
    async fn delete_route(&self, dst: &str) -> Result<(), KernelError>;
    /// Appends the `nat` POSTROUTING rule unless present.
    async fn ensure_nat_rule(&self, rule: &[String]) -> Result<(), KernelError>;
    /// Turns on IPv4 forwarding in this network namespace.
    async fn enable_forwarding(&self) -> Result<(), KernelError>;
}

/// [`Kernel`] through the `ip` and `iptables` commands.
#[derive(Clone, Debug, Default)]
pub struct Tools;

async fn run(tool: &'static str, args: &[String]) -> Result<String, KernelError> {
    let out = Command::new(tool)
        .args(args)
        .output()
        .await
        .map_err(|source| KernelError::Spawn { tool, source })?;
    if !out.status.success() {
        return Err(KernelError::Failed {
            tool,
            args: args.join(" "),
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// Routes from `ip -j route show` output.
pub fn parse_routes(json: &str) -> Vec<Route> {
    let doc: Value = serde_json::from_str(json).unwrap_or(Value::Null);
    let entries = doc.as_array().cloned().unwrap_or_default();
    entries
        .iter()
        .filter_map(|r| {
            let dst = normalize_cidr(r.get("dst")?.as_str()?)?;
            let via = r.get("gateway")?.as_str()?.parse().ok()?;
            Some(Route { dst, via })
        })
        .collect()
}

#[async_trait]
impl Kernel for Tools {
    async fn routes(&self) -> Result<Vec<Route>, KernelError> {
        let out = run(
            "ip",
            &strings(&["-j", "-4", "route", "show", "proto", ROUTE_PROTOCOL]),
        )
        .await?;
        Ok(parse_routes(&out))
    }

    async fn replace_route(&self, route: &Route) -> Result<(), KernelError> {
        // The gateway must be on-link: `ip route get` answers without a gateway of its own.
        let via = route.via.to_string();
        let lookup = run("ip", &strings(&["-j", "route", "get", &via])).await?;
        let doc: Value = serde_json::from_str(&lookup).unwrap_or(Value::Null);
        let hop = doc
            .as_array()
            .and_then(|a| a.first())
            .cloned()
            .unwrap_or(Value::Null);
        let dev = hop.get("dev").and_then(Value::as_str).unwrap_or("");
        if hop.get("gateway").is_some() || dev.is_empty() || dev == "lo" {
            return Err(KernelError::GatewayNotOnLink(route.via));
        }
        let args = [
            "route",
            "replace",
            &route.dst,
            "via",
            &via,
            "dev",
            dev,
            "proto",
            ROUTE_PROTOCOL,
        ];
        run("ip", &strings(&args)).await.map(drop)
    }

    async fn delete_route(&self, dst: &str) -> Result<(), KernelError> {
        run(
            "ip",
            &strings(&["route", "del", dst, "proto", ROUTE_PROTOCOL]),
        )
        .await
        .map(drop)
    }

    async fn ensure_nat_rule(&self, rule: &[String]) -> Result<(), KernelError> {
        let with = |op: &str| {
            let mut args = strings(&["-w", "-t", "nat", op, crate::masq::CHAIN]);
            args.extend(rule.iter().cloned());
            args
        };
        if run("iptables", &with("-C")).await.is_ok() {
            return Ok(());
        }
        run("iptables", &with("-A")).await.map(drop)
    }

    async fn enable_forwarding(&self) -> Result<(), KernelError> {
        const PATH: &str = "/proc/sys/net/ipv4/ip_forward";
        tokio::fs::write(PATH, b"1")
            .await
            .map_err(|source| KernelError::Sysctl { path: PATH, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ip_json_routes() {
        let out = r#"[{"dst":"10.21.1.0/24","gateway":"172.30.4.3","dev":"eth0","protocol":"77","flags":[]},
                      {"dst":"10.21.9.9","gateway":"172.30.4.5","dev":"eth0","protocol":"77","flags":[]},
                      {"dst":"10.21.2.0/24","dev":"eth0","protocol":"77","flags":[]}]"#;
        let got = parse_routes(out);
        let want = vec![
            Route {
                dst: "10.21.1.0/24".into(),
                via: "172.30.4.3".parse().unwrap(),
            },
            Route {
                dst: "10.21.9.9/32".into(),
                via: "172.30.4.5".parse().unwrap(),
            },
        ];
        assert_eq!(got, want);
        assert!(parse_routes("").is_empty());
    }
}
