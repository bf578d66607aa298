//! Access log: one `tracing` event per request (target `skiff::access`) with the
//! component, method, path, status, latency and user. Server errors are warnings; the
//! rest are debug events.

use std::task::{Context, Poll};
use std::time::Instant;

use futures::future::BoxFuture;
use http::Request;
use tower::{Layer, Service};

use crate::identity::{Peer, User};
use crate::Response;

/// Logs every request that passes through it.
#[derive(Clone, Copy, Debug)]
pub struct AccessLogLayer {
    component: &'static str,
}

impl AccessLogLayer {
    /// A log for `component` (e.g. `apiserver`, `kubelet`).
    pub fn new(component: &'static str) -> Self {
        AccessLogLayer { component }
    }
}

impl<S> Layer<S> for AccessLogLayer {
    type Service = AccessLog<S>;

    fn layer(&self, inner: S) -> AccessLog<S> {
        AccessLog {
            inner,
            component: self.component,
        }
    }
}

/// The service [`AccessLogLayer`] makes.
#[derive(Clone, Debug)]
pub struct AccessLog<S> {
    inner: S,
    component: &'static str,
}

impl<S, B> Service<Request<B>> for AccessLog<S>
where
    S: Service<Request<B>, Response = Response>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let start = Instant::now();
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        // The certificate's name until an authentication layer says who the user is.
        let cert_user = req
            .extensions()
            .get::<Peer>()
            .and_then(|p| p.cert.as_ref())
            .map(|c| c.common_name.clone());
        let component = self.component;
        let fut = self.inner.call(req);
        Box::pin(async move {
            let resp = fut.await?;
            let user = resp
                .extensions()
                .get::<User>()
                .map(|u| u.name.clone())
                .or(cert_user)
                .unwrap_or_default();
            let status = resp.status().as_u16();
            let latency = start.elapsed();
            if status >= 500 {
                tracing::warn!(target: "skiff::access", component, %method, path, status, ?latency, user, "request");
            } else {
                tracing::debug!(target: "skiff::access", component, %method, path, status, ?latency, user, "request");
            }
            Ok(resp)
        })
    }
}
