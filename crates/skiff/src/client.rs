//! Builds the `kube::Client` the in-process components use to reach the API server.

use anyhow::Context;

/// A kubeconfig document for `server` with a bearer token, trusting `ca_pem`.
pub fn kubeconfig_yaml(server: &str, ca_pem: &str, token: &str) -> String {
    use base64::Engine;
    use std::fmt::Write;
    let ca_b64 = base64::engine::general_purpose::STANDARD.encode(ca_pem.as_bytes());
    let mut out = String::new();
    let _ = write!(
        out,
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: {ca_b64}\n    server: {server}\n  name: skiff\ncontexts:\n- context:\n    cluster: skiff\n    user: skiff\n  name: skiff\ncurrent-context: skiff\npreferences: {{}}\nusers:\n- name: skiff\n  user:\n    token: {token}\n"
    );
    out
}

/// A client for `server` authenticating with `token`, sending `component`'s User-Agent
/// (`kube-scheduler/v…`, as upstream components do), which the API server also takes as
/// the field manager of the component's writes.
pub async fn build(
    server: &str,
    ca_pem: &str,
    token: &str,
    component: &str,
) -> anyhow::Result<kube::Client> {
    let yaml = kubeconfig_yaml(server, ca_pem, token);
    let kubeconfig =
        kube::config::Kubeconfig::from_yaml(&yaml).context("parsing generated kubeconfig")?;
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .context("loading generated kubeconfig")?;
    let config = skiff_client::with_user_agent(config, component)?;
    kube::Client::try_from(config).context("building API client")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeconfig_parses_with_kube() {
        let yaml = kubeconfig_yaml("https://127.0.0.1:6443", "PEM", "tok");
        let parsed = kube::config::Kubeconfig::from_yaml(&yaml).expect("valid kubeconfig");
        assert_eq!(parsed.current_context.as_deref(), Some("skiff"));
    }
}
