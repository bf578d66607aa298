//! The commands, one module per verb or verb family; each exports its flag specs and
//! an async entry that takes the invocation's [`Ctx`](crate::ctx::Ctx).

pub mod api_resources;
pub mod apply;
pub mod config;
pub mod cp;
pub mod create;
pub mod delete;
pub mod describe;
pub mod edit;
pub mod exec;
pub mod explain;
pub mod expose;
pub mod generate;
pub mod get;
pub mod get_watch;
pub mod help;
pub mod label;
pub mod logs;
pub mod node;
pub mod options;
pub mod port_forward;
pub mod proxy;
pub mod rollout;
pub mod run;
pub mod scale;
pub mod set_patch;
pub mod targets;
pub mod version;
pub mod wait;
