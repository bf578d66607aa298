//! `runtime-helper youki --root DIR <verb> …`: the runc-compatible command lines
//! the runtime and its helpers run (`exec`, `start`, `delete`), served by
//! libcontainer in this short-lived process (it forks and clones: no threads here).

use std::collections::HashMap;
use std::path::PathBuf;

use libcontainer::container::builder::ContainerBuilder;
use libcontainer::container::Container;
use libcontainer::oci_spec::runtime::Spec;
use libcontainer::syscall::syscall::SyscallType;

use crate::oci::OciRuntime;
use crate::youki::YoukiRuntime;
use crate::youki_executor::SkiffExecutor;

/// Run one verb; returns the exit code (`exec`: the exec'd process's).
pub(crate) fn main(args: &[String]) -> i32 {
    match run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("youki: {e}");
            1
        }
    }
}

fn run(args: &[String]) -> Result<i32, String> {
    let mut it = args.iter();
    let root = match (it.next().map(String::as_str), it.next()) {
        (Some("--root"), Some(r)) => PathBuf::from(r),
        _ => return Err("usage: youki --root DIR <verb> …".into()),
    };
    let verb = it.next().ok_or("missing verb")?;
    let rest: Vec<String> = it.cloned().collect();
    let rt = YoukiRuntime {
        state_root: root.clone(),
        helper_exe: std::env::current_exe().map_err(|e| e.to_string())?,
    };
    match verb.as_str() {
        "exec" => exec(&root, &rest),
        "start" => {
            let id = rest.last().ok_or("start: missing id")?;
            rt.start_here(id).map_err(|e| format!("start {id}: {e}"))?;
            Ok(0)
        }
        "delete" => {
            let id = rest.last().ok_or("delete: missing id")?;
            rt.delete(id).map_err(|e| e.to_string())?;
            Ok(0)
        }
        other => Err(format!("unsupported verb {other:?}")),
    }
}

/// `exec [--tty] [--detach] [--console-socket S] [--pid-file P] ID ARGV…`.
fn exec(root: &std::path::Path, args: &[String]) -> Result<i32, String> {
    let (mut tty, mut detach) = (false, false);
    let (mut console, mut pid_file) = (None::<PathBuf>, None::<PathBuf>);
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--tty" | "-t" => tty = true,
            "--detach" | "-d" => detach = true,
            "--console-socket" => {
                i += 1;
                console = args.get(i).map(PathBuf::from);
            }
            "--pid-file" => {
                i += 1;
                pid_file = args.get(i).map(PathBuf::from);
            }
            _ => break,
        }
        i += 1;
    }
    let id = args.get(i).ok_or("exec: missing container id")?;
    let argv: Vec<String> = args[i + 1..].to_vec();
    if argv.is_empty() {
        return Err("exec: missing command".into());
    }
    if tty && console.is_none() {
        return Err("exec: --tty needs --console-socket".into());
    }
    // The exec'd process may be re-parented to us: reap it whichever way it comes.
    if !detach {
        crate::sys::process::set_child_subreaper().map_err(|e| format!("subreaper: {e}"))?;
    }
    // Like `runc exec`, the process inherits the container's process settings
    // (user, capabilities, env, cwd, no_new_privileges) and its seccomp filter;
    // libcontainer's tenant builder takes the first from a process.json only and
    // drops the second, which `SkiffExecutor` re-applies.
    let container = Container::load(root.join(id)).map_err(|e| format!("exec: {e}"))?;
    let spec = Spec::load(container.bundle().join("config.json"))
        .map_err(|e| format!("exec: loading spec: {e}"))?;
    let mut process = spec.process().clone().unwrap_or_default();
    process.set_args(Some(argv));
    process.set_terminal(Some(tty));
    process.set_console_size(None);
    let process_file = root
        .join(id)
        .join(format!("exec-{}.json", std::process::id()));
    let text = serde_json::to_vec(&process).map_err(|e| e.to_string())?;
    std::fs::write(&process_file, text).map_err(|e| format!("exec: {e}"))?;
    let executor = SkiffExecutor::new(
        process.env().as_deref().unwrap_or_default(),
        spec.linux().as_ref().and_then(|l| l.seccomp().clone()),
    );
    let built = ContainerBuilder::new(id.clone(), SyscallType::default())
        .with_root_path(root)
        .and_then(|b| b.with_pid_file(pid_file.as_ref()))
        .map(|b| {
            b.with_console_socket(console.as_ref())
                .with_executor(executor)
                .as_tenant()
                .with_process(Some(&process_file))
                .with_detach(detach)
                .build()
        });
    let _ = std::fs::remove_file(&process_file);
    let pid = built.and_then(|r| r).map_err(|e| format!("exec: {e}"))?;
    if detach {
        return Ok(0);
    }
    Ok(crate::sys::process::wait_child(
        pid.as_raw(),
        &mut HashMap::new(),
    ))
}
