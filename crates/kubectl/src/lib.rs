//! skiff-kubectl: a kubectl-compatible CLI (same flags, output and exit codes as
//! upstream kubectl), entered through [`main`].
//!
//! - `dispatch` finds the command in argv, parses its flags (`flags`) into the
//!   invocation's `ctx` and runs one of the commands in `cmd`;
//! - `client` is the connection to the API server: kubeconfig, resource types and
//!   discovery, requests, WebSocket remote-command sessions;
//! - `print` turns objects into kubectl's output (tables, `-o` formats, Go JSON and
//!   YAML, mutation results); `describe` holds the `kubectl describe` layouts;
//! - `input` reads `-f` manifests the way kubectl reads them; `patch` computes and
//!   applies patches on the client; `ordered_json` is the field-ordered JSON document
//!   generators build.

mod client;
mod cmd;
mod ctx;
mod describe;
mod dispatch;
mod flags;
mod input;
mod json_get;
mod ordered_json;
mod patch;
mod print;

pub use dispatch::main;
