//! Response headers every API response carries: `Cache-Control: no-cache, private`
//! (upstream's `WithCacheControl`) and one `Warning: 299 - "…"` per warning a handler
//! recorded in the request's [`Warnings`] (upstream's `WithWarningRecorder`).

use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use http::{HeaderValue, Request};
use tower::{Layer, Service};

use crate::Response;

/// Warnings a handler adds for the client; found in every request's extensions below a
/// [`ResponseHeadersLayer`].
#[derive(Clone, Debug, Default)]
pub struct Warnings(Arc<Mutex<Vec<String>>>);

impl Warnings {
    /// Adds a warning.
    pub fn push(&self, msg: impl Into<String>) {
        if let Ok(mut w) = self.0.lock() {
            w.push(msg.into());
        }
    }

    /// Takes the warnings recorded so far.
    pub fn take(&self) -> Vec<String> {
        self.0
            .lock()
            .map(|mut w| std::mem::take(&mut *w))
            .unwrap_or_default()
    }
}

/// The `Warning` header value of one message (code 299, agent `-`).
fn warning_value(msg: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("299 - \"{}\"", msg.replace('"', "\\\""))).ok()
}

/// Adds the cache and warning headers.
#[derive(Clone, Copy, Debug, Default)]
pub struct ResponseHeadersLayer;

impl<S> Layer<S> for ResponseHeadersLayer {
    type Service = ResponseHeaders<S>;

    fn layer(&self, inner: S) -> ResponseHeaders<S> {
        ResponseHeaders { inner }
    }
}

/// The service [`ResponseHeadersLayer`] makes.
#[derive(Clone, Debug)]
pub struct ResponseHeaders<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for ResponseHeaders<S>
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

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let warnings = Warnings::default();
        req.extensions_mut().insert(warnings.clone());
        let fut = self.inner.call(req);
        Box::pin(async move {
            let mut resp = fut.await?;
            let headers = resp.headers_mut();
            headers.insert(
                http::header::CACHE_CONTROL,
                HeaderValue::from_static("no-cache, private"),
            );
            for msg in warnings.take() {
                if let Some(v) = warning_value(&msg) {
                    headers.append(http::header::WARNING, v);
                }
            }
            Ok(resp)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::full;
    use tower::ServiceExt;

    #[tokio::test]
    async fn cache_control_and_one_warning_header_per_message() {
        let svc = ResponseHeadersLayer.layer(tower::service_fn(|req: Request<()>| async move {
            if let Some(w) = req.extensions().get::<Warnings>() {
                w.push("unknown field \"spec.x\"");
                w.push("second");
            }
            Ok::<_, std::convert::Infallible>(Response::new(full("ok")))
        }));
        let resp = svc.oneshot(Request::new(())).await.unwrap();
        assert_eq!(resp.headers()["cache-control"], "no-cache, private");
        let warnings: Vec<&str> = resp
            .headers()
            .get_all("warning")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        assert_eq!(
            warnings,
            ["299 - \"unknown field \\\"spec.x\\\"\"", "299 - \"second\""]
        );
    }
}
