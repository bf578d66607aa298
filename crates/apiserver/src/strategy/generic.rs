//! The generic strategy (every default), and the one for kinds clients write with
//! PUT whether or not the object exists yet (endpoints, events, leases).

use super::Strategy;

/// Resources with no kind-specific rules.
pub struct Generic;

impl Strategy for Generic {}

/// Endpoints, Events (core and events.k8s.io) and Leases: upstream's strategies allow
/// create on update.
pub struct CreateOnUpdate;

impl Strategy for CreateOnUpdate {
    fn allow_create_on_update(&self) -> bool {
        true
    }
}
