//! Talking to the API server: the connection built from kubeconfig and flags, the
//! resource types (compiled-in table, discovery fallback) and remote-command sessions.

pub mod api;
pub mod kubeconfig;
pub mod remote;
pub mod resources;
