//! Runs a detached TTY exec (`runc exec -t -d --console-socket`) as a child
//! subreaper and waits for the exec'd process, so its exit code becomes ours.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;

use nix::unistd::Pid;

use super::HelperArgs;
use crate::oci::ExecOptions;

pub(crate) fn run(args: &HelperArgs) -> Result<i32, String> {
    nix::sys::prctl::set_child_subreaper(true).map_err(|e| format!("subreaper: {e}"))?;
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
    let mut seen = HashMap::new();
    Ok(wait_pid(Pid::from_raw(pid), &mut seen))
}

pub(crate) fn wait_pid(target: Pid, seen: &mut HashMap<i32, i32>) -> i32 {
    use nix::sys::wait::{waitpid, WaitStatus};
    loop {
        match waitpid(Pid::from_raw(-1), None) {
            Ok(ws @ (WaitStatus::Exited(pid, _) | WaitStatus::Signaled(pid, _, _))) => {
                let code = super::exit_code(ws).unwrap_or(255);
                if pid == target {
                    return code;
                }
                seen.insert(pid.as_raw(), code);
            }
            Ok(_) | Err(nix::Error::EINTR) => {}
            Err(_) => return seen.get(&target.as_raw()).copied().unwrap_or(255),
        }
    }
}
