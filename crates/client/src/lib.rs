//! skiff-client: the client-side machinery every Skiff component that talks to the API
//! server shares (kube-rs's `kube-runtime` and client-go's `tools` in one place):
//!
//! - [`ApiHandle`]: the typed API handle carrying the component's name (field manager,
//!   User-Agent);
//! - [`informer`] and [`SharedInformerFactory`]: one watch per kind feeding a shared cache
//!   and every registered handler;
//! - [`WorkQueue`]: a de-duplicating work queue with rate-limited requeues
//!   ([`ratelimit`]);
//! - [`events`]: one event recorder that correlates (counts, aggregates, filters spam)
//!   and sends in the background;
//! - [`leader`]: Lease leader election.
//!
//! It depends on kube and k8s-openapi only, never on a component.

pub mod events;
mod factory;
mod handle;
pub mod informer;
pub mod leader;
pub mod ratelimit;
#[cfg(test)]
mod testing;
pub mod workqueue;

pub use events::{EventRecord, EventSink, EventType, Recorder};
pub use factory::SharedInformerFactory;
pub use handle::{user_agent, with_user_agent, ApiHandle, HandleError};
pub use informer::SharedInformer;
pub use leader::{run_elected, LeaderError, LeaseLock};
pub use workqueue::{run_workers, WorkQueue};
