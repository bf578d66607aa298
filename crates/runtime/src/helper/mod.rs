//! Entry point of the re-executed helper processes (`runtime-helper infra|monitor|exec-wait …`).
//! `helper_main` must run before anything allocation-heavy (no tokio, no tracing
//! subscriber): monitors live as long as their containers and should stay small.

mod infra;
mod monitor;
mod mux;
mod trim;
#[cfg(feature = "youki")]
mod youki_cli;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;

use crate::oci::ExecOptions;
use crate::sys::process;

/// Parsed `--key value` arguments of a helper.
pub(crate) struct HelperArgs(HashMap<String, String>);

impl HelperArgs {
    fn parse(args: &[String]) -> Result<Self, String> {
        let mut map = HashMap::new();
        let mut it = args.iter();
        while let Some(k) = it.next() {
            let key = k
                .strip_prefix("--")
                .ok_or_else(|| format!("unexpected argument {k:?}"))?;
            let v = it.next().ok_or_else(|| format!("--{key} needs a value"))?;
            map.insert(key.to_string(), v.clone());
        }
        Ok(HelperArgs(map))
    }

    pub(crate) fn get(&self, key: &str) -> Result<&str, String> {
        self.0
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| format!("missing --{key}"))
    }

    pub(crate) fn opt(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    pub(crate) fn oci(&self) -> Result<Box<dyn crate::oci::OciRuntime>, String> {
        if self.opt("oci-kind") == Some("youki") {
            #[cfg(feature = "youki")]
            return Ok(Box::new(crate::youki::YoukiRuntime {
                state_root: self.get("oci-root")?.into(),
                helper_exe: self.get("oci-helper")?.into(),
            }));
            #[cfg(not(feature = "youki"))]
            return Err("built without the youki feature".into());
        }
        Ok(Box::new(crate::oci::BinaryRuntime::from_helper_args(
            self.get("oci-binary")?,
            self.get("oci-root")?,
            self.opt("oci-hide-unified") == Some("true"),
        )))
    }
}

/// Run a helper. `args` are the arguments after `runtime-helper`: the helper's name
/// (`infra`, `monitor` or `exec-wait`) followed by its `--key value` options.
/// Returns the process exit code.
pub fn helper_main(args: &[String]) -> i32 {
    let Some((name, rest)) = args.split_first() else {
        eprintln!("runtime-helper: missing helper name");
        return 2;
    };
    #[cfg(feature = "youki")]
    if name == "youki" {
        return youki_cli::main(rest);
    }
    let parsed = match HelperArgs::parse(rest) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("runtime-helper {name}: {e}");
            return 2;
        }
    };
    let result = match name.as_str() {
        "infra" => infra::run(&parsed),
        "monitor" => monitor::run(&parsed),
        "exec-wait" => exec_wait(&parsed),
        other => Err(format!("unknown helper {other:?}")),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("runtime-helper {name}: {e}");
            1
        }
    }
}

/// `exec-wait`: run a detached TTY exec (`runc exec -t -d --console-socket`) as a child
/// subreaper and wait for the exec'd process, so its exit code becomes ours.
fn exec_wait(args: &HelperArgs) -> Result<i32, String> {
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
