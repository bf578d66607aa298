//! `kubectl describe` layouts, laid out like upstream's describers: the Pod and its
//! containers, the Node, the Service, the other kinds, and the blocks and the
//! tab-aligning writer they share.

pub mod containers;
pub mod kinds;
pub mod node;
pub mod pod;
pub mod service;
pub mod util;
pub mod writer;
