//! `kubectl describe` layouts, laid out like upstream's describers: the Pod and its
//! containers, the Node, the other kinds, and the blocks and writer they share.

pub mod containers;
pub mod kinds;
pub mod node;
pub mod pod;
pub mod service;
pub mod util;
pub mod writer;
