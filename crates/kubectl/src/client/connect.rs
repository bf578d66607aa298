//! The connection the way kubectl builds it: the effective cluster, user and namespace
//! from the merged kubeconfig and the global flags, turned into a `kube::Client`.

use super::api::Api;
use super::kubeconfig::Kubeconfig;
use crate::ctx::{CmdError, Ctx};
use serde_json::{json, Value};

/// The kubeconfig entries one invocation uses, with the global flags applied.
struct Effective {
    /// The cluster entry's body (`server`, CA, TLS options).
    cluster: Value,
    /// The user entry's body (token, client certificate).
    user: Value,
    /// `-n`, else the context's namespace, else `default`.
    namespace: String,
}

impl Api {
    /// Builds the connection from kubeconfig and global flags.
    pub async fn connect(ctx: &Ctx) -> Result<Api, CmdError> {
        let kc =
            Kubeconfig::load(ctx.p.get("kubeconfig")).map_err(|e| CmdError::Msg(e.to_string()))?;
        let Effective {
            cluster,
            user,
            namespace,
        } = effective(ctx, &kc)?;
        let url = cluster["server"]
            .as_str()
            .unwrap_or("")
            .trim_end_matches('/')
            .to_string();
        let client = kube_client(cluster, user).await?;
        Ok(Api {
            client,
            host: host_port(&url),
            url,
            namespace,
        })
    }
}

/// Resolves the context (`--context` or the current one), then its cluster, user and
/// namespace, each overridable by a flag.
fn effective(ctx: &Ctx, kc: &Kubeconfig) -> Result<Effective, CmdError> {
    let ctx_name = ctx
        .p
        .get("context")
        .map(str::to_string)
        .unwrap_or(kc.current_context.clone());
    let context = kc.context(&ctx_name).map(|c| c.body.clone());
    if ctx.p.get("context").is_some() && context.is_none() {
        return Err(CmdError::Msg(format!(
            "context was not found for specified context: {ctx_name}"
        )));
    }
    let context = context.unwrap_or_else(|| json!({}));
    // `--cluster` and `--user` name the same entries as the context's fields
    let named = |field: &str| {
        ctx.p
            .get(field)
            .map(str::to_string)
            .or_else(|| {
                context
                    .get(field)
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_default()
    };
    let cluster = kc
        .cluster(&named("cluster"))
        .map(|c| c.body.clone())
        .unwrap_or_else(|| json!({}));
    let user = kc
        .user(&named("user"))
        .map(|c| c.body.clone())
        .unwrap_or_else(|| json!({}));
    let namespace = ctx
        .namespace_flag()
        .map(str::to_string)
        .or_else(|| {
            context
                .get("namespace")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        })
        .unwrap_or_else(|| "default".into());
    Ok(Effective {
        cluster: cluster_with_flags(ctx, cluster),
        user: user_with_flags(ctx, user),
        namespace,
    })
}

/// `--server` (else kubectl's `http://localhost:8080` default),
/// `--insecure-skip-tls-verify` (which drops the CA) and `--certificate-authority`.
fn cluster_with_flags(ctx: &Ctx, mut cluster: Value) -> Value {
    if let Some(s) = ctx.p.get("server") {
        cluster["server"] = json!(s);
    }
    if cluster
        .get("server")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        cluster["server"] = json!("http://localhost:8080");
    }
    if ctx.p.flag("insecure-skip-tls-verify") {
        cluster["insecure-skip-tls-verify"] = json!(true);
        if let Some(m) = cluster.as_object_mut() {
            m.remove("certificate-authority-data");
            m.remove("certificate-authority");
        }
    }
    if let Some(ca) = ctx.p.get("certificate-authority") {
        cluster["certificate-authority"] = json!(ca);
    }
    cluster
}

/// `--token`, `--client-certificate` and `--client-key`.
fn user_with_flags(ctx: &Ctx, mut user: Value) -> Value {
    if let Some(t) = ctx.p.get("token") {
        user["token"] = json!(t);
    }
    for (flag, key) in [
        ("client-certificate", "client-certificate"),
        ("client-key", "client-key"),
    ] {
        if let Some(v) = ctx.p.get(flag) {
            user[key] = json!(v);
        }
    }
    user
}

/// A `kube::Client` for one cluster and user (kube's own kubeconfig loader does the
/// TLS and credential work); no retries and no read timeout, like kubectl.
async fn kube_client(cluster: Value, user: Value) -> Result<kube::Client, CmdError> {
    let doc = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c", "cluster": cluster}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    });
    let kcfg: kube::config::Kubeconfig =
        serde_json::from_value(doc).map_err(|e| CmdError::Msg(e.to_string()))?;
    let mut cfg =
        kube::Config::from_custom_kubeconfig(kcfg, &kube::config::KubeConfigOptions::default())
            .await
            .map_err(|e| CmdError::Msg(e.to_string()))?;
    cfg.default_retry = false;
    cfg.read_timeout = None;
    kube::Client::try_from(cfg).map_err(|e| CmdError::Msg(e.to_string()))
}

/// `host:port` of a server URL (the scheme's default port when none is given).
fn host_port(url: &str) -> String {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let hp = rest.split('/').next().unwrap_or(rest);
    if hp.contains(':') {
        hp.to_string()
    } else if url.starts_with("https") {
        format!("{hp}:443")
    } else {
        format!("{hp}:80")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_defaults_by_scheme() {
        for (url, want) in [
            ("https://10.0.0.1:6443", "10.0.0.1:6443"),
            ("https://example.com/prefix", "example.com:443"),
            ("http://localhost", "localhost:80"),
            ("http://localhost:8080", "localhost:8080"),
        ] {
            assert_eq!(host_port(url), want, "{url}");
        }
    }
}
