//! Prometheus metrics for every Skiff component, with no dependencies.
//!
//! All components embedded in one process (API server, scheduler, controllers, kubelet)
//! register their families in one process-wide [`Registry`] ([`global`]), as k3s does, so
//! one `/metrics` scrape shows them all. Families are labelled [`CounterVec`],
//! [`GaugeVec`] and [`HistogramVec`]; [`Registry::render`] writes the Prometheus text
//! exposition format 0.0.4 ([`CONTENT_TYPE`]).

mod family;
mod histogram;
mod registry;
mod text;

pub use family::{CounterVec, GaugeVec};
pub use histogram::{exponential_buckets, HistogramVec};
pub use registry::{global, Registry};
pub use text::CONTENT_TYPE;
