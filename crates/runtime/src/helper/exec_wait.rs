//! Runs a detached TTY exec (`runc exec -t -d --console-socket`) as a child
//! subreaper and waits for the exec'd process, so its exit code becomes ours.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;

use super::HelperArgs;
use crate::oci::ExecOptions;
use crate::sys::process;

pub(crate) fn run(args: &HelperArgs) -> Result<i32, String> {
    process::set_child_subreaper().map_err(|e| format!("subreaper: {e}"))?;
    let oci = args.oci()?;
    let id = args.get("id")?;
    let argv: Vec<String> =
        serde_json::from_str(args.get("argv")?).map_err(|e| format!("--argv: {e}"))?;
    let pid_file = PathBuf::from(args.get("pid-file")?);
    let opts = ExecOptions {
        tty: true,
        detach: true,
        console_socket: Some(PathBuf::from(args.get("console-socket")?)),
        pid_file: Some(pid_file.clone()),
    };
    let status = oci
        .exec(id, &argv, &opts)
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("running {}: {e}", oci.name()))?;
    if !status.success() {
        return Ok(status.code().unwrap_or(126));
    }
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or("exec pid file missing")?;
    let _ = std::fs::remove_file(&pid_file);
    Ok(process::wait_child(pid, &mut HashMap::new()))
}
