//! skiff-scheduler: assigns pending pods to nodes. A pure API client: nodes and pods come
//! from watches into an in-memory cache; decisions are made by filter and score plugins
//! (upstream's framework shape) and written back as `pods/binding`.

pub mod algorithm;
pub mod binder;
pub mod cache;
mod config;
pub mod fit_error;
pub mod framework;
pub mod metrics;
pub mod plugins;
pub mod queue;
pub mod resources;
mod run;

pub use config::{SchedulerConfig, SchedulerError};
pub use run::run;
