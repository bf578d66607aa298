//! Node networking as an API client: the node agent's half of the pod network.
//!
//! With `--flannel-backend=host-gw` every node keeps a kernel route to each other node's
//! `spec.podCIDR` through that node's InternalIP (the nodes share one L2 segment), so pods
//! on different nodes reach each other with their own source addresses; traffic leaving
//! the cluster CIDR is masqueraded. The routes follow the Node objects the agent watches,
//! and the node's `NetworkUnavailable` condition turns `False` once they are in place.
//!
//! The decisions are pure functions ([`routes::plan`], [`masq::rules`],
//! [`condition::network_available`]); the kernel sits behind the [`kernel::Kernel`] trait.

pub mod agent;
pub mod backend;
pub mod condition;
pub mod kernel;
pub mod masq;
pub mod routes;

pub use agent::{run, NetworkConfig, NetworkError};
pub use backend::{BackendError, FlannelBackend};
