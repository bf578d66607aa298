//! skiff-runtime: Skiff's CRI runtime. A `RuntimeService` + `ImageService` gRPC
//! server on a unix socket; sandboxes are a network namespace wired by CNI plus a
//! tiny infra process; containers run through an OCI runtime (runc by default)
//! under a per-container monitor process that writes CRI logs and exit status.
//! Every kernel call goes through `sys`.
//!
//! The public surface is what the `skiff` binary and the runtime's tests and benchmarks
//! need: [`serve`] with its [`RuntimeConfig`] and settings, the [`ImageSource`] seam (with
//! [`DirImageSource`] for tests), and [`helper_main`] for the re-executed helper processes.

mod attach;
mod cni;
mod config;
mod container;
mod cri;
mod error;
mod exec;
mod helper;
mod images;
mod logs;
mod oci;
mod oci_select;
mod rootfs;
mod runtime;
mod sandbox;
mod spec;
mod state;
mod streaming;
mod sys;
#[cfg(feature = "youki")]
mod youki;
#[cfg(feature = "youki")]
mod youki_executor;

pub use config::{CniSettings, OciRuntimeKind, RuntimeConfig};
pub use cri::serve;
pub use error::ServeError;
pub use helper::helper_main;
pub use images::{DirImageSource, ImageSource};
pub use sys::cgroup::remove_cgroup_dirs;
