//! The namespace controller (empties a terminating namespace, then drops its `kubernetes`
//! finalizer) and the serviceaccount controller (a `default` ServiceAccount per namespace).

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};

use crate::context::{Ctx, SyncResult};

/// Namespaced kinds emptied on namespace deletion: (group, version, kind, plural).
pub const NAMESPACED: &[(&str, &str, &str, &str)] = &[
    ("apps", "v1", "Deployment", "deployments"),
    ("apps", "v1", "DaemonSet", "daemonsets"),
    ("apps", "v1", "StatefulSet", "statefulsets"),
    ("apps", "v1", "ReplicaSet", "replicasets"),
    ("", "v1", "Pod", "pods"),
    ("", "v1", "Service", "services"),
    ("", "v1", "Endpoints", "endpoints"),
    ("", "v1", "ConfigMap", "configmaps"),
    ("", "v1", "Secret", "secrets"),
    ("", "v1", "ServiceAccount", "serviceaccounts"),
    ("", "v1", "Event", "events"),
    ("coordination.k8s.io", "v1", "Lease", "leases"),
];

/// Whether a namespace is terminating and still holds the `kubernetes` finalizer.
pub fn needs_cleanup(ns: &Namespace) -> bool {
    ns.metadata.deletion_timestamp.is_some()
        && ns
            .spec
            .as_ref()
            .and_then(|s| s.finalizers.as_ref())
            .is_some_and(|f| f.iter().any(|x| x == "kubernetes"))
}

/// One sync of namespace `name`.
pub async fn sync(ctx: Arc<Ctx>, name: String) -> SyncResult {
    let Some(ns) = ctx
        .namespaces
        .get(&kube::runtime::reflector::ObjectRef::new(&name))
    else {
        return Ok(None);
    };
    if ns.metadata.deletion_timestamp.is_none() {
        ensure_default_sa(&ctx, &name).await?;
        return Ok(None);
    }
    if !needs_cleanup(&ns) {
        return Ok(None);
    }
    let mut remaining = 0usize;
    for (g, v, k, p) in NAMESPACED {
        let ar = ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(g, v, k), p);
        let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), &name, &ar);
        let list = match api.list(&ListParams::default()).await {
            Ok(l) => l,
            Err(kube::Error::Api(e)) if e.code == 404 || e.code == 405 => continue,
            Err(e) => return Err(e.into()),
        };
        for o in list.items {
            remaining += 1;
            if o.metadata.deletion_timestamp.is_some() {
                continue;
            }
            let n = o.metadata.name.clone().unwrap_or_default();
            match api.delete(&n, &DeleteParams::background()).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    if remaining > 0 {
        return Ok(Some(Duration::from_secs(1)));
    }
    let mut fin = (*ns).clone();
    if let Some(spec) = fin.spec.as_mut() {
        spec.finalizers = Some(
            spec.finalizers
                .take()
                .unwrap_or_default()
                .into_iter()
                .filter(|f| f != "kubernetes")
                .collect(),
        );
    }
    let api: Api<Namespace> = Api::all(ctx.client.clone());
    match api
        .replace_subresource("finalize", &name, &PostParams::default(), &fin)
        .await
    {
        Ok(_) => Ok(None),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
        Err(kube::Error::Api(e)) if e.code == 405 => {
            api.replace(&name, &PostParams::default(), &fin).await?;
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

async fn ensure_default_sa(ctx: &Ctx, ns: &str) -> Result<(), kube::Error> {
    let api: Api<ServiceAccount> = Api::namespaced(ctx.client.clone(), ns);
    if api.get_opt("default").await?.is_some() {
        return Ok(());
    }
    let sa = ServiceAccount {
        metadata: ObjectMeta {
            name: Some("default".into()),
            namespace: Some(ns.into()),
            ..Default::default()
        },
        ..Default::default()
    };
    match api.create(&PostParams::default(), &sa).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => Err(e),
    }
}
