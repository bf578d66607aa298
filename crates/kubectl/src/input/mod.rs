//! What the user hands in with `-f`: files, directories and stdin split into objects,
//! parsed as YAML 1.1 the way kubectl parses manifests.

pub mod manifests;
pub mod yaml11;
