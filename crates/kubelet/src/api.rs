//! The API seam of the pod workers: the few reads and writes they make
//! against the API server, behind a trait so unit tests can use a fake.

use async_trait::async_trait;
use k8s_openapi::api::authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{ConfigMap, Pod, PodStatus, Secret, Service, ServiceAccount};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams, Preconditions};
use kube::{Api, Client};

/// An API call failed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ApiError(String);

impl From<kube::Error> for ApiError {
    fn from(e: kube::Error) -> Self {
        ApiError(e.to_string())
    }
}

/// What the pod workers need from the API server.
#[async_trait]
pub trait PodApi: Send + Sync + 'static {
    /// A ConfigMap, None when it does not exist.
    async fn config_map(&self, ns: &str, name: &str) -> Result<Option<ConfigMap>, ApiError>;
    /// A Secret, None when it does not exist.
    async fn secret(&self, ns: &str, name: &str) -> Result<Option<Secret>, ApiError>;
    /// Services of a namespace (for service environment variables).
    async fn services(&self, ns: &str) -> Result<Vec<Service>, ApiError>;
    /// A bound service account token; None when the server cannot issue one.
    async fn token(
        &self,
        pod: &Pod,
        service_account: &str,
        audience: Option<String>,
        expiration_seconds: i64,
    ) -> Result<Option<String>, ApiError>;
    /// Replace the status of a pod (a merge patch of `status`).
    async fn patch_status(&self, ns: &str, name: &str, status: &PodStatus) -> Result<(), ApiError>;
    /// Delete a pod with grace 0, only if it still has `uid`.
    async fn delete_pod(&self, ns: &str, name: &str, uid: &str) -> Result<(), ApiError>;
}

/// The real API seam over a `kube::Client`.
#[derive(Clone)]
pub struct KubeApi {
    client: Client,
}

impl KubeApi {
    /// Wrap a client.
    pub fn new(client: Client) -> Self {
        KubeApi { client }
    }
}

fn not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

#[async_trait]
impl PodApi for KubeApi {
    async fn config_map(&self, ns: &str, name: &str) -> Result<Option<ConfigMap>, ApiError> {
        Ok(Api::<ConfigMap>::namespaced(self.client.clone(), ns)
            .get_opt(name)
            .await?)
    }

    async fn secret(&self, ns: &str, name: &str) -> Result<Option<Secret>, ApiError> {
        Ok(Api::<Secret>::namespaced(self.client.clone(), ns)
            .get_opt(name)
            .await?)
    }

    async fn services(&self, ns: &str) -> Result<Vec<Service>, ApiError> {
        Ok(Api::<Service>::namespaced(self.client.clone(), ns)
            .list(&ListParams::default())
            .await?
            .items)
    }

    async fn token(
        &self,
        pod: &Pod,
        service_account: &str,
        audience: Option<String>,
        expiration_seconds: i64,
    ) -> Result<Option<String>, ApiError> {
        let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
        let api = Api::<ServiceAccount>::namespaced(self.client.clone(), ns);
        let req = TokenRequest {
            spec: TokenRequestSpec {
                audiences: audience.into_iter().collect(),
                expiration_seconds: Some(expiration_seconds),
                bound_object_ref: Some(BoundObjectReference {
                    api_version: Some("v1".into()),
                    kind: Some("Pod".into()),
                    name: pod.metadata.name.clone(),
                    uid: pod.metadata.uid.clone(),
                }),
            },
            ..Default::default()
        };
        match api
            .create_token_request(service_account, &PostParams::default(), &req)
            .await
        {
            Ok(t) => Ok(t.status.map(|s| s.token)),
            Err(e) if not_found(&e) => Ok(None),
            Err(kube::Error::Api(s)) if s.code == 405 || s.code == 501 => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn patch_status(&self, ns: &str, name: &str, status: &PodStatus) -> Result<(), ApiError> {
        let patch = serde_json::json!({ "status": status });
        Api::<Pod>::namespaced(self.client.clone(), ns)
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        Ok(())
    }

    async fn delete_pod(&self, ns: &str, name: &str, uid: &str) -> Result<(), ApiError> {
        let dp = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions {
                uid: Some(uid.to_string()),
                resource_version: None,
            }),
            ..Default::default()
        };
        match Api::<Pod>::namespaced(self.client.clone(), ns)
            .delete(name, &dp)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
