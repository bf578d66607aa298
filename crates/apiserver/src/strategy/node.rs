//! Nodes: no generation, and a DELETE answers with the deleted Node.

use super::Strategy;

/// The strategy of core/v1 Nodes.
pub struct NodeStrategy;

impl Strategy for NodeStrategy {
    fn tracks_generation(&self) -> bool {
        false
    }

    fn returns_deleted_object(&self) -> bool {
        true
    }
}
