//! The plugins, in pipeline order, and the registry mapping names to constructors.

pub mod balanced_allocation;
pub mod node_affinity;
pub mod node_name;
pub mod node_ports;
pub mod node_resources_fit;
pub mod node_unschedulable;
pub mod owner_spread;
pub mod taint_toleration;
#[cfg(test)]
pub(crate) mod testutil;

use std::sync::Arc;

use crate::framework::{FilterPlugin, ScorePlugin};

/// A constructor of a plugin for one extension point.
pub enum Constructor {
    /// Builds a Filter plugin.
    Filter(fn() -> Arc<dyn FilterPlugin>),
    /// Builds a Score plugin.
    Score(fn() -> Arc<dyn ScorePlugin>),
}

/// The registry: plugin names to constructors, in pipeline order (filters first).
pub fn registry() -> Vec<(&'static str, Constructor)> {
    use Constructor::{Filter, Score};
    vec![
        (
            node_unschedulable::NAME,
            Filter(|| Arc::new(node_unschedulable::NodeUnschedulable)),
        ),
        (node_name::NAME, Filter(|| Arc::new(node_name::NodeName))),
        (
            taint_toleration::NAME,
            Filter(|| Arc::new(taint_toleration::TaintToleration)),
        ),
        (
            node_affinity::NAME,
            Filter(|| Arc::new(node_affinity::NodeAffinity)),
        ),
        (node_ports::NAME, Filter(|| Arc::new(node_ports::NodePorts))),
        (
            node_resources_fit::NAME,
            Filter(|| Arc::new(node_resources_fit::NodeResourcesFit)),
        ),
        (
            taint_toleration::NAME,
            Score(|| Arc::new(taint_toleration::TaintToleration)),
        ),
        (
            node_affinity::NAME,
            Score(|| Arc::new(node_affinity::NodeAffinity)),
        ),
        (
            node_resources_fit::NAME,
            Score(|| Arc::new(node_resources_fit::NodeResourcesFit)),
        ),
        (
            balanced_allocation::NAME,
            Score(|| Arc::new(balanced_allocation::BalancedAllocation)),
        ),
        (
            owner_spread::NAME,
            Score(|| Arc::new(owner_spread::OwnerSpread)),
        ),
    ]
}

/// The default profile: every registered plugin, in registry order.
pub fn default_profile() -> crate::algorithm::Profile {
    let (mut filters, mut scores) = (Vec::new(), Vec::new());
    for (_, c) in registry() {
        match c {
            Constructor::Filter(f) => filters.push(f()),
            Constructor::Score(s) => scores.push(s()),
        }
    }
    crate::algorithm::Profile { filters, scores }
}
