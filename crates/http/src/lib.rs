//! The HTTPS server stack Skiff's API server and kubelet share.
//!
//! Both are hyper (HTTP/1.1 with upgrades) behind rustls, served by [`serve`], with the
//! cross-cutting concerns as tower layers, one per module: [`AccessLogLayer`],
//! [`RequestMetricsLayer`], [`CatchPanicLayer`] and [`ResponseHeadersLayer`]. Each server
//! builds its own chain of `.layer(...)` calls in front of its router. Also here: the
//! response [`Body`] type, query-string decoding ([`query`]) and the client identity a
//! TLS handshake establishes ([`Peer`], [`User`]).

mod access_log;
mod body;
mod catch_panic;
mod identity;
pub mod query;
mod request_metrics;
mod response_headers;
mod serve;
pub mod tls;

pub use access_log::AccessLogLayer;
pub use body::{boxed, empty, full, Body, Response};
pub use catch_panic::CatchPanicLayer;
pub use identity::{CertIdentity, Peer, User};
pub use request_metrics::{RequestMetrics, RequestMetricsLayer};
pub use response_headers::{ResponseHeadersLayer, Warnings};
pub use serve::{serve, ServeOptions};
pub use tls::TlsError;
