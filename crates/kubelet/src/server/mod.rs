//! The node's HTTPS API on :10250: containerLogs, exec, attach,
//! portForward, pods, healthz and stats/summary, behind mutual TLS.

mod handlers;
mod query;
mod spdy;
mod spdy_forward;
mod stats;
mod stream;
mod tls;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::routing::{any, get};
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::config::KubeletConfig;
use crate::cri::Cri;
use crate::pod::PodCache;

pub use tls::CLIENT_CN;

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
        .with_state(state)
}

/// Bind the port now (so a bad port fails `run`), then serve until shutdown.
pub async fn start(
    cfg: Arc<KubeletConfig>,
    state: AppState,
    mut shutdown: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, ServerError> {
    let tls = tls::server_config(
        &cfg.serving_cert_pem,
        &cfg.serving_key_pem,
        &cfg.client_ca_pem,
    )?;
    let addr = SocketAddr::from(([0, 0, 0, 0], cfg.port));
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })?;
    let acceptor = TlsAcceptor::from(tls);
    let app = router(state);
    Ok(tokio::spawn(async move {
        loop {
            let (tcp, peer) = tokio::select! {
                _ = shutdown.changed() => return,
                r = listener.accept() => match r {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        continue;
                    }
                },
            };
            let acceptor = acceptor.clone();
            let app = app.clone();
            tokio::spawn(async move {
                let tls = match acceptor.accept(tcp).await {
                    Ok(t) => t,
                    Err(e) => {
                        tracing::debug!(error = %e, %peer, "tls handshake failed");
                        return;
                    }
                };
                let cn = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .and_then(|c| tls::common_name(c.as_ref()));
                if cn.as_deref() != Some(CLIENT_CN) {
                    tracing::warn!(%peer, cn = ?cn, "client certificate refused");
                    return;
                }
                let svc = TowerToHyperService::new(app);
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), svc)
                    .with_upgrades();
                if let Err(e) = conn.await {
                    tracing::debug!(error = %e, "connection ended");
                }
                let _ = TokioExecutor::new();
            });
        }
    }))
}
