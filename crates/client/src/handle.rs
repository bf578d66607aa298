//! The typed API handle a component talks to the API server through: a `kube::Client`
//! plus the component's name, used as its field manager and in its User-Agent. It only
//! hands out `kube::Api<K>` and request parameters; `kube::Api` does the work.

use http::header::{HeaderValue, InvalidHeaderValue, USER_AGENT};
use k8s_openapi::NamespaceResourceScope;
use kube::api::{Api, PatchParams, PostParams};
use kube::Resource;

/// Errors building a handle.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// The component name cannot be sent in a header.
    #[error("component name {0:?} is not a valid User-Agent")]
    UserAgent(String, #[source] InvalidHeaderValue),
    /// The client could not be built from the configuration.
    #[error("building API client: {0}")]
    Client(#[from] kube::Error),
}

/// A component's way to the API server; clones share the connection.
#[derive(Clone)]
pub struct ApiHandle {
    client: kube::Client,
    component: String,
}

impl ApiHandle {
    /// A handle over an existing client for `component` (e.g. `kube-scheduler`).
    pub fn new(client: kube::Client, component: &str) -> Self {
        ApiHandle {
            client,
            component: component.into(),
        }
    }

    /// Builds the client from `config`, sending `User-Agent: <component>/<version>` as
    /// upstream components do (`kube-scheduler/v1.33.0 …`).
    pub fn connect(config: kube::Config, component: &str) -> Result<Self, HandleError> {
        let config = with_user_agent(config, component)?;
        Ok(Self::new(kube::Client::try_from(config)?, component))
    }

    /// The underlying client.
    pub fn client(&self) -> kube::Client {
        self.client.clone()
    }

    /// The component's name: its field manager and event source.
    pub fn component(&self) -> &str {
        &self.component
    }

    /// `K` across all namespaces (or cluster-scoped `K`).
    pub fn all<K>(&self) -> Api<K>
    where
        K: Resource<DynamicType = ()>,
    {
        Api::all(self.client.clone())
    }

    /// Namespaced `K` in `ns`.
    pub fn namespaced<K>(&self, ns: &str) -> Api<K>
    where
        K: Resource<DynamicType = (), Scope = NamespaceResourceScope>,
    {
        Api::namespaced(self.client.clone(), ns)
    }

    /// Parameters for create/replace carrying the field manager.
    pub fn post_params(&self) -> PostParams {
        PostParams {
            field_manager: Some(self.component.clone()),
            ..Default::default()
        }
    }

    /// Parameters for merge/strategic/JSON patches carrying the field manager.
    pub fn patch_params(&self) -> PatchParams {
        PatchParams {
            field_manager: Some(self.component.clone()),
            ..Default::default()
        }
    }

    /// Parameters for a server-side apply as this component (`force` takes over fields
    /// other managers own, as controllers do).
    pub fn apply_params(&self, force: bool) -> PatchParams {
        let p = PatchParams::apply(&self.component);
        if force {
            p.force()
        } else {
            p
        }
    }
}

/// `config` sending `component`'s User-Agent (replacing any set before).
pub fn with_user_agent(
    mut config: kube::Config,
    component: &str,
) -> Result<kube::Config, HandleError> {
    let value = HeaderValue::from_str(&user_agent(component))
        .map_err(|e| HandleError::UserAgent(component.into(), e))?;
    config.headers.retain(|(name, _)| name != USER_AGENT);
    config.headers.push((USER_AGENT, value));
    Ok(config)
}

/// `<component>/v<version>`, the User-Agent of a component.
pub fn user_agent(component: &str) -> String {
    format!("{component}/v{}", env!("CARGO_PKG_VERSION"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;
    use k8s_openapi::api::core::v1::{Node, Pod};

    #[tokio::test]
    async fn hands_out_apis_and_params_for_the_component() {
        let (client, _requests) = testing::client(|_| testing::status(404, "NotFound"));
        let h = ApiHandle::new(client, "kube-scheduler");
        assert_eq!(h.all::<Node>().resource_url(), "/api/v1/nodes");
        assert_eq!(
            h.namespaced::<Pod>("ns").resource_url(),
            "/api/v1/namespaces/ns/pods"
        );
        assert_eq!(
            h.post_params().field_manager.as_deref(),
            Some("kube-scheduler")
        );
        assert_eq!(
            h.patch_params().field_manager.as_deref(),
            Some("kube-scheduler")
        );
        let apply = h.apply_params(true);
        assert_eq!(apply.field_manager.as_deref(), Some("kube-scheduler"));
        assert!(apply.force);
        assert_eq!(h.component(), "kube-scheduler");
        assert!(user_agent("kube-scheduler").starts_with("kube-scheduler/v"));
    }

    #[test]
    fn the_user_agent_is_set_once() {
        let mut config = kube::Config::new("https://127.0.0.1:6443".parse().unwrap());
        config
            .headers
            .push((USER_AGENT, HeaderValue::from_static("old")));
        let bad = with_user_agent(config.clone(), "bad\nname");
        assert!(matches!(bad, Err(HandleError::UserAgent(..))));
        let config = with_user_agent(config, "kubelet").unwrap();
        let agents: Vec<&HeaderValue> = config
            .headers
            .iter()
            .filter(|(n, _)| n == USER_AGENT)
            .map(|(_, v)| v)
            .collect();
        assert_eq!(
            agents,
            [&HeaderValue::from_str(&user_agent("kubelet")).unwrap()]
        );
    }
}
