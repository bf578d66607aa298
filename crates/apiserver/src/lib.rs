//! The Skiff API server: Kubernetes-compatible HTTPS REST over a revisioned store —
//! discovery, CRUD, watch, patch, subresources, Table output — behind tower layers for
//! authentication, access logs, metrics, headers and panic recovery ([`stack`]), with
//! the per-kind rules in strategies ([`strategy`]).

mod admission;
mod authn;
mod bootstrap;
mod decode;
mod discovery;
mod httputil;
mod ipalloc;
mod join;
mod metrics;
mod objects;
mod openapi;
mod path;
mod pki;
mod resources;
mod rest;
mod router;
mod server;
mod stack;
mod state;
mod status;
mod strategy;
mod tlsconf;
mod watchcache;

pub use admission::DefaultTolerations;
pub use server::{start, ApiServerConfig, ApiServerError, RunningApiServer};
