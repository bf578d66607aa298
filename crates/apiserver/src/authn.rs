//! Authentication as a tower layer: resolves the user of a request from its verified
//! client certificate (CN as the name, O as groups, as upstream's x509 authenticator) or
//! the admin bearer token, and puts it in the request's and the response's extensions.
//! Requests without credentials get 401 `Status`, except on the public paths
//! (`/healthz`, `/livez`, `/readyz`, `/version`, `/cacerts`).

use crate::httputil::{error_response, Resp};
use crate::path;
use crate::status::ApiError;
use futures::future::BoxFuture;
use http::{header, Request};
use skiff_http::{Peer, User};
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::{Layer, Service};

/// The user the admin token stands for (k3s's admin, a cluster superuser).
const ADMIN: &str = "system:admin";

/// Every authenticated user's group.
const AUTHENTICATED: &str = "system:authenticated";

/// Who a request comes from, if it carries valid credentials.
pub fn authenticate<B>(req: &Request<B>, token: &str) -> Option<User> {
    if let Some(cert) = req.extensions().get::<Peer>().and_then(|p| p.cert.as_ref()) {
        let mut groups = cert.organizations.clone();
        groups.push(AUTHENTICATED.into());
        return Some(User {
            name: cert.common_name.clone(),
            groups,
        });
    }
    let h = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())?;
    let tok = h
        .strip_prefix("Bearer ")
        .or_else(|| h.strip_prefix("bearer "))?;
    let (a, b) = (tok.trim().as_bytes(), token.as_bytes());
    // Compared in constant time.
    let same = a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0;
    same.then(|| User {
        name: ADMIN.into(),
        groups: vec!["system:masters".into(), AUTHENTICATED.into()],
    })
}

/// Authenticates requests against the admin token and the cluster CA's certificates.
#[derive(Clone)]
pub struct AuthnLayer {
    token: Arc<str>,
}

impl AuthnLayer {
    /// Accepts `token` as the admin bearer token.
    pub fn new(token: &str) -> Self {
        AuthnLayer {
            token: Arc::from(token),
        }
    }
}

impl<S> Layer<S> for AuthnLayer {
    type Service = Authn<S>;

    fn layer(&self, inner: S) -> Authn<S> {
        Authn {
            inner,
            token: self.token.clone(),
        }
    }
}

/// The service [`AuthnLayer`] makes.
#[derive(Clone)]
pub struct Authn<S> {
    inner: S,
    token: Arc<str>,
}

impl<S, B> Service<Request<B>> for Authn<S>
where
    S: Service<Request<B>, Response = Resp>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Resp;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Resp, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        if path::of(&req).is_public() {
            return Box::pin(self.inner.call(req));
        }
        let Some(user) = authenticate(&req, &self.token) else {
            return Box::pin(std::future::ready(Ok(error_response(
                &ApiError::unauthorized(),
            ))));
        };
        req.extensions_mut().insert(user.clone());
        let fut = self.inner.call(req);
        Box::pin(async move {
            let mut resp = fut.await?;
            resp.extensions_mut().insert(user);
            Ok(resp)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skiff_http::CertIdentity;

    fn req(auth: Option<&str>, cert: Option<(&str, &[&str])>) -> Request<()> {
        let mut r = Request::get("/api/v1/pods");
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        let mut r = r.body(()).unwrap();
        if let Some((cn, orgs)) = cert {
            r.extensions_mut().insert(Peer {
                addr: "127.0.0.1:1".parse().unwrap(),
                cert: Some(CertIdentity {
                    common_name: cn.into(),
                    organizations: orgs.iter().map(|o| o.to_string()).collect(),
                }),
            });
        }
        r
    }

    #[test]
    fn users_from_certificates_and_the_admin_token() {
        let name = |r: &Request<()>| authenticate(r, "s3cret").map(|u| u.name);
        let cases: [(Request<()>, Option<&str>); 7] = [
            (req(Some("Bearer s3cret"), None), Some(ADMIN)),
            (req(Some("bearer s3cret "), None), Some(ADMIN)),
            (req(Some("Bearer wrong"), None), None),
            (req(Some("Bearer s3cre"), None), None),
            (req(Some("Basic s3cret"), None), None),
            (req(None, None), None),
            (
                req(None, Some(("system:node:n1", &["system:nodes"]))),
                Some("system:node:n1"),
            ),
        ];
        for (r, want) in cases {
            assert_eq!(name(&r).as_deref(), want, "{:?}", r.headers());
        }
        let node = authenticate(&req(None, Some(("system:node:n1", &["system:nodes"]))), "x");
        assert_eq!(
            node.map(|u| u.groups),
            Some(vec!["system:nodes".to_string(), AUTHENTICATED.to_string()])
        );
    }
}
