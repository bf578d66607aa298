//! `skiff agent`: joins a server with a token and runs the node (runtime + kubelet).

use crate::cli::AgentArgs;
use crate::{client, node, server};
use anyhow::Context;

/// Joins `--server` and runs the node until SIGINT/SIGTERM.
pub async fn run(args: AgentArgs) -> anyhow::Result<()> {
    let data_dir = std::path::absolute(&args.data_dir)?;
    let ca_pem = fetch_ca(&args.server).await?;
    let kube = client::build(&args.server, &ca_pem, &args.token, "kubelet").await?;
    let node_name = node::node_name(&args.node, &data_dir)?;
    let node_ip = args.node.node_ip.unwrap_or_else(node::default_node_ip);
    let (cert, key) = request_serving_cert(&kube, &node_name, &node_ip.to_string()).await?;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let plan = node::NodePlan {
        data_dir,
        node_name,
        node_ip,
        args: args.node.clone(),
        cluster_cidr: args.cluster_cidr.clone(),
        serving_cert_pem: cert,
        serving_key_pem: key,
        client_ca_pem: ca_pem,
        role_labels: Default::default(),
    };
    let agent = tokio::spawn(node::run(plan, kube, stopped.clone()));
    server::wait_for_signal().await;
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        server::log_exit("node agent", agent.await);
    })
    .await;
    Ok(())
}

/// Reads the cluster CA from the server's unauthenticated `/cacerts` endpoint.
///
/// The CA is trusted on first use here; the token then authenticates us to the server.
async fn fetch_ca(server_url: &str) -> anyhow::Result<String> {
    let mut config = kube::Config::new(server_url.parse().context("parsing --server")?);
    config.accept_invalid_certs = true;
    let insecure = kube::Client::try_from(config)?;
    let request = http::Request::get("/cacerts").body(Vec::new())?;
    insecure
        .request_text(request)
        .await
        .with_context(|| format!("fetching the cluster CA from {server_url}/cacerts"))
}

/// Asks the server to sign a kubelet serving certificate for this node.
async fn request_serving_cert(
    kube: &kube::Client,
    node_name: &str,
    node_ip: &str,
) -> anyhow::Result<(String, String)> {
    let path = format!("/v1-skiff/kubelet-serving-cert?node={node_name}&ip={node_ip}");
    let request = http::Request::post(path).body(Vec::new())?;
    let body: serde_json::Value = kube
        .request(request)
        .await
        .context("requesting a kubelet serving certificate")?;
    let field = |name: &str| {
        body.get(name)
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .with_context(|| format!("server answer lacks {name}"))
    };
    Ok((field("cert")?, field("key")?))
}
