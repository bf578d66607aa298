//! skiff-runtime: Skiff's CRI runtime. A `RuntimeService` + `ImageService` gRPC
//! server on a unix socket; sandboxes are a network namespace wired by CNI plus a
//! tiny infra process; containers run through an OCI runtime (runc by default)
//! under a per-container monitor process that writes CRI logs and exit status.

pub mod attach;
pub mod cni;
pub mod config;
pub mod container;
mod cri;
mod devices;
pub mod error;
pub mod exec;
mod helper;
mod image_store;
pub mod images;
pub mod logs;
pub mod netns;
pub mod oci;
mod oci_select;
mod pty;
pub mod rootfs;
pub mod runtime;
pub mod sandbox;
pub mod seccomp;
mod server;
pub mod spec;
pub mod state;
mod stats;
pub mod streaming;
pub mod user;
#[cfg(feature = "youki")]
pub mod youki;
#[cfg(feature = "youki")]
mod youki_executor;

pub use config::{CniSettings, OciRuntimeKind, RuntimeConfig};
pub use error::RuntimeError;
pub use helper::helper_main;
pub use images::{DirImageSource, ImageConfig, ImageInfo, ImageSource, ImageSourceError};
pub use server::serve;
