//! Talking to the API server: the connection built from kubeconfig and flags, requests
//! and their error texts, the resource types (compiled-in table, discovery fallback)
//! and remote-command sessions over WebSockets.

mod api;
mod connect;
mod error;
pub mod kubeconfig;
pub mod remote;
pub mod resources;

pub use api::{enc, Api, WsStream, TABLE_ACCEPT};
pub use error::{discovery_refused_log, ApiError};
