//! skiff-kubectl: a kubectl-compatible CLI (same flags, output and exit codes as
//! upstream kubectl), entered through [`main`].

mod client;
mod cmd_apply;
mod cmd_config;
mod cmd_cp;
mod cmd_create;
mod cmd_create_run;
mod cmd_delete;
mod cmd_describe;
mod cmd_discovery;
mod cmd_edit;
mod cmd_exec;
mod cmd_explain;
mod cmd_expose;
mod cmd_get;
mod cmd_logs;
mod cmd_misc;
mod cmd_mutate;
mod cmd_node;
mod cmd_port_forward;
mod cmd_proxy;
mod cmd_rollout;
mod cmd_run;
mod cmd_set_patch;
mod cmd_version;
mod cmd_wait;
mod ctx;
mod describe_kinds;
mod describe_node;
mod describe_pod;
mod describe_util;
mod dispatch;
mod doc;
mod explain_render;
mod flags;
mod gotab;
mod gotemplate;
mod jsonpath;
mod kubeconfig;
mod local_patch;
mod manifests;
mod op_output;
mod printers;
mod remote;
mod resources;
mod table;
mod tabwriter;
mod yaml11;
mod yaml_out;
mod yaml_scalar;

/// Runs kubectl with `args` (without the program name) and returns the exit code.
pub fn main(args: Vec<String>) -> i32 {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            ctx::err(&format!("error: {e}\n"));
            return 1;
        }
    };
    let code = rt.block_on(dispatch::run(args));
    // do not wait for lingering connection tasks
    rt.shutdown_background();
    code
}
