//! skiff-kubelet: the node agent. It registers the node, keeps its lease and
//! status fresh, runs the pods bound to the node through CRI, reports their
//! status and events, and serves the node's HTTPS API (logs, exec, attach,
//! port-forward, pods, stats).

mod api;
mod config;
mod cri;
mod error;
mod logs;
mod mem;
mod node;
mod pod;
mod run;
mod server;
mod time;

pub use config::KubeletConfig;
pub use cri::{connect_cri, Cri, CriError, GrpcCri};
pub use error::KubeletError;
pub use run::{run, run_with_cri};
