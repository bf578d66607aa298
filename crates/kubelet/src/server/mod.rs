//! The node's HTTPS API on :10250: containerLogs, exec, attach, portForward, pods,
//! healthz, stats/summary and metrics, behind mutual TLS, on the HTTPS stack the API
//! server shares (`skiff-http`).

mod handlers;
mod metrics;
mod query;
mod spdy;
mod spdy_forward;
mod stats;
mod stream;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::routing::{any, get};
use axum::Router;
use http::Request;
use hyper::body::Incoming;
use skiff_http::tls::ClientCerts;
use skiff_http::{AccessLogLayer, CatchPanicLayer, Peer, RequestMetricsLayer, ServeOptions};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::util::BoxCloneService;
use tower::ServiceBuilder;

use crate::config::KubeletConfig;
use crate::cri::Cri;
use crate::pod::PodCache;

/// The only client identity accepted (the API server's kubelet-client certificate).
pub const CLIENT_CN: &str = "kube-apiserver-kubelet-client";

/// The node API could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Certificates or keys are unusable.
    #[error("tls: {0}")]
    Tls(String),
    /// The port could not be bound.
    #[error("bind {addr}: {source}")]
    Bind {
        /// Address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
}

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// CRI client.
    pub cri: Arc<dyn Cri>,
    /// Pods of this node.
    pub pods: PodCache,
    /// Configuration.
    pub cfg: Arc<KubeletConfig>,
    /// CPU usage samples for rates.
    pub cpu: stats::CpuSamples,
}

/// The routes, without TLS (tests call them directly).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/pods", get(handlers::pods))
        .route("/pods/", get(handlers::pods))
        .route("/containerLogs/{ns}/{pod}/{container}", get(handlers::logs))
        .route("/exec/{ns}/{pod}/{container}", any(handlers::exec))
        .route(
            "/exec/{ns}/{pod}/{uid}/{container}",
            any(handlers::exec_uid),
        )
        .route("/attach/{ns}/{pod}/{container}", any(handlers::attach))
        .route(
            "/attach/{ns}/{pod}/{uid}/{container}",
            any(handlers::attach_uid),
        )
        .route("/portForward/{ns}/{pod}", any(handlers::port_forward))
        .route(
            "/portForward/{ns}/{pod}/{uid}",
            any(handlers::port_forward_uid),
        )
        .route("/stats/summary", get(stats::summary))
        .route("/metrics", get(metrics::scrape))
        .with_state(state)
}

/// The service serving every connection: the shared layers in front of the router.
fn service(
    state: AppState,
) -> BoxCloneService<Request<Incoming>, skiff_http::Response, Infallible> {
    let stack = ServiceBuilder::new()
        // Outermost: every request is logged with its latency and the client's name.
        .layer(AccessLogLayer::new("kubelet"))
        // Counts requests by method and path root, as upstream's kubelet server does.
        .layer(RequestMetricsLayer::new(metrics::HttpMetrics::register()))
        // A panicking handler answers 500 instead of dropping the connection.
        .layer(CatchPanicLayer::new("kubelet"))
        // axum's body into the shared body type the layers above speak.
        .map_response(|r: axum::response::Response| r.map(skiff_http::boxed))
        .service(router(state));
    BoxCloneService::new(stack)
}

/// The serving certificate, and client certificates that must chain to the client CA
/// (their CN is checked after the handshake, by [`admit`]).
fn tls_config(cfg: &KubeletConfig) -> Result<Arc<rustls::ServerConfig>, ServerError> {
    skiff_http::tls::server_config(
        &cfg.client_ca_pem,
        &cfg.serving_cert_pem,
        &cfg.serving_key_pem,
        ClientCerts::Required,
    )
    .map(Arc::new)
    .map_err(|e| ServerError::Tls(e.to_string()))
}

/// Only the API server's kubelet-client certificate may use the node API.
fn admit(peer: &Peer) -> bool {
    peer.cert
        .as_ref()
        .is_some_and(|c| c.common_name == CLIENT_CN)
}

/// Bind the port now (so a bad port fails `run`), then serve until shutdown.
pub async fn start(
    cfg: Arc<KubeletConfig>,
    state: AppState,
    shutdown: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, ServerError> {
    let tls = tls_config(&cfg)?;
    let addr = SocketAddr::from(([0, 0, 0, 0], cfg.port));
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })?;
    let opts = ServeOptions {
        admit: Some(Arc::new(admit)),
        ..Default::default()
    };
    Ok(skiff_http::serve(
        listener,
        tls,
        service(state),
        opts,
        shutdown,
    ))
}
