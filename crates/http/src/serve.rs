//! The HTTPS accept loop: TLS handshake (with a deadline), the client's identity read from
//! its certificate, then HTTP/1.1 with upgrades through a tower service. Connections end
//! when the server shuts down.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::Request;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tower::{Service, ServiceExt};

use crate::identity::{CertIdentity, Peer};
use crate::Response;

/// Decides, after the handshake, whether a client may use the connection at all.
pub type Admit = Arc<dyn Fn(&Peer) -> bool + Send + Sync>;

/// How connections are accepted.
#[derive(Clone)]
pub struct ServeOptions {
    /// Longest a TLS handshake may take.
    pub handshake_timeout: Duration,
    /// Connections this refuses are closed right after the handshake.
    pub admit: Option<Admit>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            handshake_timeout: Duration::from_secs(10),
            admit: None,
        }
    }
}

/// Serves HTTPS on `listener` with `service` until `shutdown` turns true (or its sender is
/// dropped); returns the accept loop's task. Each request carries the connection's [`Peer`].
pub fn serve<S>(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    service: S,
    opts: ServeOptions,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()>
where
    S: Service<Request<Incoming>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let acceptor = TlsAcceptor::from(tls);
    tokio::spawn(async move {
        loop {
            let (tcp, addr) = tokio::select! {
                r = listener.accept() => match r {
                    Ok(x) => x,
                    Err(e) => {
                        // Out of descriptors and the like: do not spin.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                _ = shutdown.changed() => break,
            };
            let _ = tcp.set_nodelay(true);
            let conn = connection(tcp, addr, acceptor.clone(), service.clone(), opts.clone());
            let mut stop = shutdown.clone();
            tokio::spawn(async move {
                tokio::select! {
                    _ = conn => {}
                    _ = stop.changed() => {}
                }
                tracing::trace!(%addr, "connection closed");
            });
        }
    })
}

async fn connection<S>(
    tcp: TcpStream,
    addr: SocketAddr,
    acceptor: TlsAcceptor,
    service: S,
    opts: ServeOptions,
) where
    S: Service<Request<Incoming>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let tls = match tokio::time::timeout(opts.handshake_timeout, acceptor.accept(tcp)).await {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => {
            tracing::debug!(error = %e, %addr, "TLS handshake failed");
            return;
        }
        Err(_) => return,
    };
    let cert = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| CertIdentity::from_der(c.as_ref()));
    let peer = Peer { addr, cert };
    if let Some(admit) = &opts.admit {
        if !admit(&peer) {
            let cn = peer.cert.as_ref().map(|c| c.common_name.as_str());
            tracing::warn!(%addr, cn = ?cn, "client certificate refused");
            return;
        }
    }
    let svc = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(peer.clone());
        service.clone().oneshot(req)
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(tls), svc)
        .with_upgrades();
    if let Err(e) = conn.await {
        tracing::debug!(error = %e, %addr, "connection error");
    }
}
