//! kubectl's output: `-o` formats, server-side Tables and the tabwriter that aligns
//! them, Go templates, JSONPath, Go-compatible JSON and YAML, what mutating commands
//! print, and `explain`'s plaintext schema rendering.

pub mod explain;
pub mod format;
pub mod gotemplate;
pub mod json;
pub mod jsonpath;
pub mod outcome;
pub mod table;
pub mod tabwriter;
pub mod yaml;
pub mod yaml_scalar;
