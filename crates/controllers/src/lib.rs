//! skiff-controllers: the controller manager (deployment, replicaset, garbage collector,
//! node lifecycle, namespace, serviceaccount), each a pure API client of the API server.

pub mod claim;
mod config;
pub mod context;
pub mod deployment;
pub mod gc;
pub mod hash;
pub mod namespace;
pub mod nodelifecycle;
pub mod podindex;
pub mod podutil;
pub mod replicaset;
mod run;

pub use config::{ControllersConfig, ControllersError};
pub use run::run;
