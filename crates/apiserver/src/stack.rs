//! The API server's HTTP stack: the layers every request passes, outermost first, in
//! front of the router. One concern per layer; the comment on each says why it sits
//! where it does.

use crate::authn::AuthnLayer;
use crate::httputil::Resp;
use crate::metrics::ApiMetrics;
use crate::path;
use crate::router;
use crate::state::State;
use http::Request;
use hyper::body::Incoming;
use skiff_http::{AccessLogLayer, CatchPanicLayer, RequestMetricsLayer, ResponseHeadersLayer};
use std::convert::Infallible;
use std::sync::Arc;
use tower::util::BoxCloneService;
use tower::ServiceBuilder;

/// The service serving every connection.
pub fn service(state: Arc<State>) -> BoxCloneService<Request<Incoming>, Resp, Infallible> {
    let token = state.token.clone();
    let router = tower::service_fn(move |req: Request<Incoming>| {
        let state = state.clone();
        async move { Ok::<_, Infallible>(router::handle(state, req).await) }
    });
    let stack = ServiceBuilder::new()
        // Outermost: every request is logged, refused or answered, with its whole latency
        // and the user the authentication layer found.
        .layer(AccessLogLayer::new("apiserver"))
        // The path is parsed once, for authentication, metrics and the router
        // (upstream's WithRequestInfo).
        .map_request(path::attach)
        // Cache-Control and the handlers' Warning headers on every response, 401s
        // included: upstream's WithCacheControl and WithWarningRecorder also sit outside
        // authentication.
        .layer(ResponseHeadersLayer)
        // Resolves the user or answers 401; nothing below runs for anonymous requests
        // (but the public health, version and CA paths).
        .layer(AuthnLayer::new(&token))
        // Counts and times requests by verb, resource, scope and code; inside
        // authentication, as upstream instruments its handlers.
        .layer(RequestMetricsLayer::new(ApiMetrics::register()))
        // Innermost: a panicking handler answers 500 Status, which the layers above still
        // count and log, and the connection survives.
        .layer(CatchPanicLayer::new("apiserver"))
        .service(router);
    BoxCloneService::new(stack)
}
