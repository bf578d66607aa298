//! Objects every cluster starts with: the four system namespaces and the
//! `default/kubernetes` Service with its Endpoints.

use crate::objects;
use crate::resources::{apply_defaults, find_resource};
use crate::state::State;
use crate::status::{ApiError, ApiResult};
use serde_json::{json, Value};
use skiff_store::StoreError;

async fn ensure(state: &State, plural: &str, ns: Option<&str>, mut obj: Value) -> ApiResult<()> {
    let res = find_resource("", "v1", plural)
        .ok_or_else(|| ApiError::internal(format!("no resource {plural}")))?;
    let name = objects::meta_str(&obj, "name").unwrap_or("").to_string();
    let key = objects::object_key(res, ns, &name);
    if state.store.get(&key, None).await?.is_some() {
        return Ok(());
    }
    if let Some(m) = objects::meta_mut(&mut obj) {
        m.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
        m.insert("creationTimestamp".into(), json!(objects::now_rfc3339()));
    }
    apply_defaults(res, &mut obj);
    match state.store.create(&key, objects::encode(&obj)).await {
        Ok(_) | Err(StoreError::AlreadyExists(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Creates whatever of the bootstrap objects is missing.
pub async fn run(state: &State, port: u16) -> ApiResult<()> {
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        let obj = json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}},
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        });
        ensure(state, "namespaces", None, obj).await?;
    }
    let ip = state.service_cidr.nth(1).to_string();
    let svc = json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kubernetes", "namespace": "default", "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {
            "type": "ClusterIP", "clusterIP": ip, "clusterIPs": [ip], "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
            "internalTrafficPolicy": "Cluster", "sessionAffinity": "None",
            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
        },
        "status": {"loadBalancer": {}},
    });
    ensure(state, "services", Some("default"), svc).await?;
    let host = state
        .server_address
        .rsplit_once(':')
        .map(|(h, _)| h.to_string())
        .unwrap_or_else(|| "127.0.0.1".into());
    let ep = json!({
        "apiVersion": "v1", "kind": "Endpoints",
        "metadata": {"name": "kubernetes", "namespace": "default", "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
        "subsets": [{"addresses": [{"ip": host}], "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}],
    });
    ensure(state, "endpoints", Some("default"), ep).await?;
    Ok(())
}
