//! skiff-controllers: the controller manager (deployment, replicaset, garbage collector,
//! node lifecycle, namespace, serviceaccount), each a pure API client of the API server.

pub mod events;
pub mod leader;
