//! Request metrics: each server says how it classifies a request (upstream's verb, group,
//! resource, scope… for the API server; method and path for the kubelet) and what it
//! records; this layer times requests and calls it. Long-running requests (watches,
//! streams) are reported when their response body ends, as upstream reports them when the
//! handler returns.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::BoxFuture;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use hyper::body::{Frame, SizeHint};
use tower::{Layer, Service};

use crate::{Body, Response};

/// What a server records about its requests.
pub trait RequestMetrics: Clone + Send + Sync + 'static {
    /// How a request is labelled.
    type Class: Send + 'static;

    /// Labels a request; `None` leaves it unrecorded.
    fn classify(&self, req: &http::request::Parts) -> Option<Self::Class>;

    /// Whether the request runs until its response body ends (watch, exec, logs -f).
    fn long_running(&self, _class: &Self::Class) -> bool {
        false
    }

    /// Called when the request arrives.
    fn on_request(&self, _class: &Self::Class) {}

    /// Called when the response is known, or for a long-running request when its body
    /// ends; `elapsed` runs from the request's arrival.
    fn on_response(&self, class: &Self::Class, status: StatusCode, elapsed: Duration);
}

/// Records request metrics with `M`.
#[derive(Clone, Debug)]
pub struct RequestMetricsLayer<M> {
    metrics: M,
}

impl<M> RequestMetricsLayer<M> {
    /// A layer recording with `metrics`.
    pub fn new(metrics: M) -> Self {
        RequestMetricsLayer { metrics }
    }
}

impl<S, M: Clone> Layer<S> for RequestMetricsLayer<M> {
    type Service = RecordMetrics<S, M>;

    fn layer(&self, inner: S) -> RecordMetrics<S, M> {
        RecordMetrics {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

/// The service [`RequestMetricsLayer`] makes.
#[derive(Clone, Debug)]
pub struct RecordMetrics<S, M> {
    inner: S,
    metrics: M,
}

/// Reports a long-running request when dropped (with the response body).
struct Finish<M: RequestMetrics> {
    metrics: M,
    class: M::Class,
    status: StatusCode,
    start: Instant,
}

impl<M: RequestMetrics> Drop for Finish<M> {
    fn drop(&mut self) {
        let elapsed = self.start.elapsed();
        self.metrics.on_response(&self.class, self.status, elapsed);
    }
}

/// A body that carries a [`Finish`] until it is dropped.
struct Tracked {
    inner: Body,
    _finish: Box<dyn Send>,
}

impl hyper::body::Body for Tracked {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<S, M, B> Service<Request<B>> for RecordMetrics<S, M>
where
    S: Service<Request<B>, Response = Response>,
    S::Future: Send + 'static,
    M: RequestMetrics,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let start = Instant::now();
        let (parts, body) = req.into_parts();
        let class = self.metrics.classify(&parts);
        if let Some(c) = &class {
            self.metrics.on_request(c);
        }
        let fut = self.inner.call(Request::from_parts(parts, body));
        let metrics = self.metrics.clone();
        Box::pin(async move {
            let resp = fut.await?;
            let Some(class) = class else {
                return Ok(resp);
            };
            let status = resp.status();
            if !metrics.long_running(&class) {
                metrics.on_response(&class, status, start.elapsed());
                return Ok(resp);
            }
            let finish: Box<dyn Send> = Box::new(Finish {
                metrics,
                class,
                status,
                start,
            });
            Ok(resp.map(|inner| {
                Tracked {
                    inner,
                    _finish: finish,
                }
                .boxed_unsync()
            }))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::full;
    use hyper::body::Body as _;
    use std::sync::{Arc, Mutex};
    use tower::ServiceExt;

    /// Records (path, status) pairs; `/watch` is long-running.
    #[derive(Clone, Default)]
    struct Log(Arc<Mutex<Vec<(String, u16)>>>);

    impl RequestMetrics for Log {
        type Class = String;
        fn classify(&self, req: &http::request::Parts) -> Option<String> {
            (req.uri.path() != "/skip").then(|| req.uri.path().to_string())
        }
        fn long_running(&self, class: &String) -> bool {
            class == "/watch"
        }
        fn on_response(&self, class: &String, status: StatusCode, _: Duration) {
            self.0
                .lock()
                .unwrap()
                .push((class.clone(), status.as_u16()));
        }
    }

    #[tokio::test]
    async fn short_requests_at_the_response_long_ones_when_the_body_ends() {
        let log = Log::default();
        let svc = RequestMetricsLayer::new(log.clone()).layer(tower::service_fn(
            |_req: Request<()>| async {
                Ok::<_, std::convert::Infallible>(Response::new(full("x")))
            },
        ));
        for path in ["/a", "/skip"] {
            let req = Request::get(path).body(()).unwrap();
            svc.clone().oneshot(req).await.unwrap();
        }
        assert_eq!(*log.0.lock().unwrap(), [("/a".to_string(), 200)]);
        let req = Request::get("/watch").body(()).unwrap();
        let resp = svc.oneshot(req).await.unwrap();
        assert_eq!(resp.body().size_hint().exact(), Some(1));
        assert_eq!(log.0.lock().unwrap().len(), 1, "still streaming");
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"x");
        assert_eq!(log.0.lock().unwrap().last().unwrap().0, "/watch");
    }
}
