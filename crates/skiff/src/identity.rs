//! Node identity from the k3s flags: `--node-taint`, `--node-label`, `--with-node-id`, and
//! the role labels a server node carries.

use anyhow::{bail, Context};
use k8s_openapi::api::core::v1::Taint;
use std::collections::BTreeMap;
use std::path::Path;

/// The labels `kubectl get nodes` reads ROLES from; k3s sets both on server nodes.
pub const SERVER_ROLE_LABELS: [&str; 2] = [
    "node-role.kubernetes.io/control-plane",
    "node-role.kubernetes.io/master",
];

/// Parses `--node-taint` values as k3s (and `kubectl taint`) write them:
/// `key=value:Effect` or `key:Effect`, Effect one of NoSchedule, PreferNoSchedule, NoExecute.
pub fn parse_taint(spec: &str) -> anyhow::Result<Taint> {
    let Some((kv, effect)) = spec.rsplit_once(':') else {
        bail!("invalid taint {spec:?}: want key=value:Effect or key:Effect");
    };
    if !["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&effect) {
        bail!("invalid taint effect {effect:?} in {spec:?}: want NoSchedule, PreferNoSchedule or NoExecute");
    }
    let (key, value) = match kv.split_once('=') {
        Some((k, v)) => (k, Some(v.to_string())),
        None => (kv, None),
    };
    if key.is_empty() {
        bail!("invalid taint {spec:?}: empty key");
    }
    Ok(Taint {
        key: key.to_string(),
        value,
        effect: effect.to_string(),
        time_added: None,
    })
}

/// Parses `--node-label` values (`key=value`).
pub fn parse_labels(specs: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    specs
        .iter()
        .map(|s| match s.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => bail!("invalid node label {s:?}: want key=value"),
        })
        .collect()
}

/// `name-<id>` with the node id kept in `<data-dir>/agent/node-id` (made once, so a
/// restarted agent keeps its name), as k3s' `--with-node-id`.
pub fn with_node_id(name: &str, data_dir: &Path) -> anyhow::Result<String> {
    let path = data_dir.join("agent/node-id");
    let id = match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => id.trim().to_string(),
        _ => {
            let bytes = std::fs::read("/proc/sys/kernel/random/uuid")
                .context("reading a random id from the kernel")?;
            let id: String = String::from_utf8_lossy(&bytes)
                .chars()
                .filter(char::is_ascii_hexdigit)
                .take(8)
                .collect();
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(&path, &id).with_context(|| format!("writing {}", path.display()))?;
            id
        }
    };
    Ok(format!("{name}-{id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taints_parse_as_kubectl_taint_writes_them() {
        let cases = [
            (
                "dedicated=gpu:NoSchedule",
                Some(("dedicated", Some("gpu"), "NoSchedule")),
            ),
            (
                "node-role.kubernetes.io/control-plane:NoSchedule",
                Some(("node-role.kubernetes.io/control-plane", None, "NoSchedule")),
            ),
            (
                "k=:PreferNoSchedule",
                Some(("k", Some(""), "PreferNoSchedule")),
            ),
            (
                "CriticalAddonsOnly=true:NoExecute",
                Some(("CriticalAddonsOnly", Some("true"), "NoExecute")),
            ),
            ("k=v", None),
            ("k=v:Sometimes", None),
            (":NoSchedule", None),
        ];
        for (spec, want) in cases {
            let got = parse_taint(spec).ok();
            let got = got
                .as_ref()
                .map(|t| (t.key.as_str(), t.value.as_deref(), t.effect.as_str()));
            assert_eq!(got, want, "{spec}");
        }
    }

    #[test]
    fn labels_need_a_key() {
        let ok = parse_labels(&["a=b".into(), "x/y=".into()]).unwrap();
        assert_eq!(ok.get("a").map(String::as_str), Some("b"));
        assert_eq!(ok.get("x/y").map(String::as_str), Some(""));
        assert!(parse_labels(&["novalue".into()]).is_err());
        assert!(parse_labels(&["=v".into()]).is_err());
    }

    #[test]
    fn node_id_is_stable_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let first = with_node_id("b", dir.path()).unwrap();
        assert!(first.starts_with("b-") && first.len() == 10, "{first}");
        assert_eq!(with_node_id("b", dir.path()).unwrap(), first);
    }
}
