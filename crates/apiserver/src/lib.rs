//! The Skiff API server: Kubernetes-compatible HTTPS REST over a revisioned store —
//! discovery, CRUD, watch, patch, subresources, Table output, authentication.

mod admission;
mod bootstrap;
mod decode;
mod discovery;
mod httputil;
mod ipalloc;
mod join;
mod objects;
mod openapi;
mod path;
mod pki;
mod resources;
mod rest;
mod router;
mod server;
mod state;
mod status;
mod tlsconf;
mod watchcache;

pub use admission::DefaultTolerations;
pub use server::{start, ApiServerConfig, ApiServerError, RunningApiServer};
