//! Panic recovery: a handler that panics answers 500 with a `Status` (upstream's
//! `WithPanicRecovery`) instead of dropping the client's connection.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use futures::FutureExt;
use http::{header, HeaderValue, Request, StatusCode};
use tower::{Layer, Service};

use crate::{full, Response};

/// Turns panics of the inner service into 500 responses.
#[derive(Clone, Copy, Debug)]
pub struct CatchPanicLayer {
    component: &'static str,
}

impl CatchPanicLayer {
    /// Recovery for `component` (named in the message, as upstream names the apiserver).
    pub fn new(component: &'static str) -> Self {
        CatchPanicLayer { component }
    }
}

impl<S> Layer<S> for CatchPanicLayer {
    type Service = CatchPanic<S>;

    fn layer(&self, inner: S) -> CatchPanic<S> {
        CatchPanic {
            inner,
            component: self.component,
        }
    }
}

/// The service [`CatchPanicLayer`] makes.
#[derive(Clone, Debug)]
pub struct CatchPanic<S> {
    inner: S,
    component: &'static str,
}

fn message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(not a string)")
}

/// The 500 `Status` a panic becomes.
pub(crate) fn panic_response(component: &str) -> Response {
    let status = serde_json::json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": format!("This request caused {component} to panic. Look in the logs for details."),
        "reason": "InternalError",
        "code": 500,
    });
    let mut resp = Response::new(full(serde_json::to_vec(&status).unwrap_or_default()));
    *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

impl<S, B> Service<Request<B>> for CatchPanic<S>
where
    S: Service<Request<B>, Response = Response>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let component = self.component;
        let (method, path) = (req.method().clone(), req.uri().path().to_string());
        let recovered = move |panic: Box<dyn Any + Send>| {
            let msg = message(panic.as_ref());
            tracing::error!(component, %method, path, panic = msg, "handler panicked");
            Ok(panic_response(component))
        };
        match std::panic::catch_unwind(AssertUnwindSafe(|| self.inner.call(req))) {
            Ok(fut) => Box::pin(async move {
                match AssertUnwindSafe(fut).catch_unwind().await {
                    Ok(r) => r,
                    Err(panic) => recovered(panic),
                }
            }),
            Err(panic) => Box::pin(std::future::ready(recovered(panic))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    #[tokio::test]
    async fn a_panicking_handler_answers_500_status() {
        let svc = CatchPanicLayer::new("apiserver").layer(tower::service_fn(
            |req: Request<()>| async move {
                if req.uri().path() == "/boom" {
                    panic!("boom");
                }
                Ok::<_, std::convert::Infallible>(Response::new(full("ok")))
            },
        ));
        let ok = svc.clone().oneshot(Request::new(())).await.unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
        let req = Request::get("/boom").body(()).unwrap();
        let resp = svc.oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["kind"], "Status");
        assert_eq!(v["reason"], "InternalError");
        assert_eq!(v["code"], 500);
        assert_eq!(
            v["message"],
            "This request caused apiserver to panic. Look in the logs for details."
        );
    }
}
