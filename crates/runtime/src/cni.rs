//! CNI client: runs the loopback, bridge (host-local IPAM) and portmap plugins per
//! the CNI spec (ADD in order, DEL in reverse) for a sandbox's network namespace.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use k8s_cri::v1::PortMapping;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use crate::config::CniSettings;

/// CNI failures.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CniError {
    /// No pod CIDR configured yet.
    #[error("no pod CIDR configured (UpdateRuntimeConfig has not set one)")]
    NoPodCidr,
    /// The plugin could not be run.
    #[error("running CNI plugin {plugin}: {source}")]
    Spawn {
        /// Plugin name.
        plugin: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The plugin reported an error.
    #[error("CNI plugin {plugin} {command} failed: {message}")]
    Plugin {
        /// Plugin name.
        plugin: String,
        /// ADD or DEL.
        command: &'static str,
        /// The plugin's message.
        message: String,
    },
    /// The result could not be parsed.
    #[error("CNI plugin {plugin}: bad result: {message}")]
    Result {
        /// Plugin name.
        plugin: String,
        /// What was wrong.
        message: String,
    },
}

/// Outcome of a successful ADD.
#[derive(Clone, Debug)]
pub(crate) struct CniAddResult {
    /// Pod IPv4 address (without prefix length).
    pub(crate) ip: String,
    /// Raw result of the bridge plugin (kept as prevResult for DEL).
    pub(crate) raw: Value,
}

/// A configured CNI network.
#[derive(Clone, Debug)]
pub(crate) struct Cni {
    /// Plugin binary directory.
    pub(crate) bin_dir: PathBuf,
    /// Network settings.
    pub(crate) settings: CniSettings,
    /// host-local data directory.
    pub(crate) ipam_dir: PathBuf,
}

const CNI_VERSION: &str = "1.0.0";

impl Cni {
    fn bridge_conf(&self, cidr: &str) -> Value {
        let gateway = gateway_of(cidr);
        let mut range = json!({ "subnet": cidr });
        if let Some(gw) = gateway {
            range["gateway"] = json!(gw);
        }
        let mut conf = json!({
            "cniVersion": CNI_VERSION,
            "name": self.settings.network_name,
            "type": "bridge",
            "bridge": self.settings.bridge,
            "isGateway": true,
            "ipMasq": self.settings.ip_masq,
            "hairpinMode": true,
            "ipam": {
                "type": "host-local",
                "ranges": [[range]],
                "routes": [{ "dst": "0.0.0.0/0" }],
                "dataDir": self.ipam_dir,
            }
        });
        if self.settings.mtu > 0 {
            conf["mtu"] = json!(self.settings.mtu);
        }
        conf
    }

    fn portmap_conf(&self, ports: &[PortMapping], prev: &Value) -> Value {
        let mappings: Vec<Value> = ports
            .iter()
            .filter(|p| p.host_port > 0)
            .map(|p| {
                json!({
                    "hostPort": p.host_port,
                    "containerPort": p.container_port,
                    "protocol": match p.protocol { 1 => "udp", 2 => "sctp", _ => "tcp" },
                    "hostIP": p.host_ip,
                })
            })
            .collect();
        json!({
            "cniVersion": CNI_VERSION,
            "name": self.settings.network_name,
            "type": "portmap",
            "capabilities": { "portMappings": true },
            "runtimeConfig": { "portMappings": mappings },
            "prevResult": prev,
        })
    }

    /// Attach the namespace: loopback, bridge, then portmap if any host port is asked.
    pub(crate) async fn add(
        &self,
        id: &str,
        netns: &Path,
        ports: &[PortMapping],
    ) -> Result<CniAddResult, CniError> {
        let cidr = self.settings.pod_cidr.clone().ok_or(CniError::NoPodCidr)?;
        let lo = json!({"cniVersion": CNI_VERSION, "name": "lo", "type": "loopback"});
        self.exec("ADD", "loopback", id, netns, "lo", &lo).await?;
        let raw = self
            .exec("ADD", "bridge", id, netns, "eth0", &self.bridge_conf(&cidr))
            .await?;
        let ip = raw
            .get("ips")
            .and_then(|v| v.as_array())
            .and_then(|a| a.iter().find_map(|i| i.get("address")?.as_str()))
            .and_then(|a| a.split('/').next())
            .map(str::to_string)
            .ok_or_else(|| CniError::Result {
                plugin: "bridge".into(),
                message: "no IP address in result".into(),
            })?;
        if ports.iter().any(|p| p.host_port > 0) {
            let conf = self.portmap_conf(ports, &raw);
            self.exec("ADD", "portmap", id, netns, "eth0", &conf)
                .await?;
        }
        Ok(CniAddResult { ip, raw })
    }

    /// Detach in reverse order; every step runs even if an earlier one fails.
    pub(crate) async fn del(
        &self,
        id: &str,
        netns: &Path,
        ports: &[PortMapping],
        prev: Option<&Value>,
    ) -> Result<(), CniError> {
        let mut first_err = None;
        let cidr = self.settings.pod_cidr.clone().unwrap_or_default();
        if ports.iter().any(|p| p.host_port > 0) {
            let conf = self.portmap_conf(ports, prev.unwrap_or(&Value::Null));
            if let Err(e) = self.exec("DEL", "portmap", id, netns, "eth0", &conf).await {
                first_err.get_or_insert(e);
            }
        }
        let mut bridge = self.bridge_conf(&cidr);
        if let Some(p) = prev {
            bridge["prevResult"] = p.clone();
        }
        if let Err(e) = self.exec("DEL", "bridge", id, netns, "eth0", &bridge).await {
            first_err.get_or_insert(e);
        }
        let lo = json!({"cniVersion": CNI_VERSION, "name": "lo", "type": "loopback"});
        if let Err(e) = self.exec("DEL", "loopback", id, netns, "lo", &lo).await {
            first_err.get_or_insert(e);
        }
        first_err.map_or(Ok(()), Err)
    }

    async fn exec(
        &self,
        command: &'static str,
        plugin: &str,
        id: &str,
        netns: &Path,
        ifname: &str,
        conf: &Value,
    ) -> Result<Value, CniError> {
        let netns_env = if netns.exists() {
            netns.display().to_string()
        } else {
            String::new()
        };
        let mut child = tokio::process::Command::new(self.bin_dir.join(plugin))
            .env("CNI_COMMAND", command)
            .env("CNI_CONTAINERID", id)
            .env("CNI_NETNS", netns_env)
            .env("CNI_IFNAME", ifname)
            .env("CNI_PATH", &self.bin_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| CniError::Spawn {
                plugin: plugin.to_string(),
                source,
            })?;
        let input = serde_json::to_vec(conf).unwrap_or_default();
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(&input).await;
        }
        let out = child
            .wait_with_output()
            .await
            .map_err(|source| CniError::Spawn {
                plugin: plugin.to_string(),
                source,
            })?;
        if !out.status.success() {
            let parsed: Option<Value> = serde_json::from_slice(&out.stdout).ok();
            let message = parsed
                .as_ref()
                .map(|v| {
                    format!(
                        "{} {}",
                        v.get("msg").and_then(Value::as_str).unwrap_or_default(),
                        v.get("details").and_then(Value::as_str).unwrap_or_default()
                    )
                })
                .unwrap_or_else(|| String::from_utf8_lossy(&out.stderr).into_owned());
            return Err(CniError::Plugin {
                plugin: plugin.to_string(),
                command,
                message: message.trim().to_string(),
            });
        }
        if out.stdout.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&out.stdout).map_err(|e| CniError::Result {
            plugin: plugin.to_string(),
            message: e.to_string(),
        })
    }
}

/// First host address of an IPv4 CIDR (the bridge gateway).
pub(crate) fn gateway_of(cidr: &str) -> Option<String> {
    let (addr, len) = cidr.split_once('/')?;
    let ip: std::net::Ipv4Addr = addr.parse().ok()?;
    let len: u32 = len.parse().ok()?;
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    let net = u32::from(ip) & mask;
    Some(std::net::Ipv4Addr::from(net + 1).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_is_first_host() {
        assert_eq!(gateway_of("10.200.3.0/24").as_deref(), Some("10.200.3.1"));
        assert_eq!(gateway_of("10.42.0.7/16").as_deref(), Some("10.42.0.1"));
        assert_eq!(gateway_of("bad"), None);
    }
}
