//! Node join endpoints under `/v1-skiff/`: an agent holding the join token asks the
//! server to sign its kubelet serving certificate (k3s does the same over `/v1-k3s/`).

use crate::httputil::{json_response, Query, Resp};
use crate::state::State;
use crate::status::ApiError;
use serde_json::json;

/// `POST /v1-skiff/kubelet-serving-cert?node=N&ip=IP` → `{"cert": PEM, "key": PEM}`,
/// signed by the cluster CA, CN `system:node:N`, SANs N and IP (plus `localhost`).
pub fn kubelet_serving_cert(state: &State, query: Option<&str>) -> Result<Resp, ApiError> {
    let q = Query::parse(query);
    let node = q
        .nonempty("node")
        .ok_or_else(|| ApiError::bad_request("query parameter \"node\" is required"))?;
    if !valid_node_name(node) {
        return Err(ApiError::bad_request(format!(
            "invalid node name {node:?}: must be a DNS-1123 subdomain"
        )));
    }
    let mut sans = vec![node.to_string()];
    if let Some(ip) = q.nonempty("ip") {
        let parsed: std::net::IpAddr = ip
            .parse()
            .map_err(|_| ApiError::bad_request(format!("invalid node IP {ip:?}")))?;
        sans.push(parsed.to_string());
    }
    let (cert, key) = state
        .pki
        .issue(&format!("system:node:{node}"), &sans, false)
        .map_err(ApiError::internal)?;
    tracing::info!(node, "issued kubelet serving certificate");
    Ok(json_response(200, &json!({"cert": cert, "key": key})))
}

fn valid_node_name(n: &str) -> bool {
    n.len() <= 253
        && n.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::valid_node_name;

    #[test]
    fn node_names() {
        assert!(valid_node_name("node-1.example"));
        assert!(!valid_node_name("Node_1"));
        assert!(!valid_node_name(""));
        assert!(!valid_node_name("a..b"));
    }
}
