//! Shared state of one kubectl invocation: global flags, the command path for usage
//! messages, and the error type every command returns (mapped to kubectl's texts).

use crate::flags::{f, Kind, Parsed, Spec};

/// kubectl's global (persistent) flags.
pub const GLOBAL_FLAGS: &[Spec] = &[
    f("kubeconfig", None, Kind::Value),
    f("context", None, Kind::Value),
    f("cluster", None, Kind::Value),
    f("user", None, Kind::Value),
    f("namespace", Some('n'), Kind::Value),
    f("server", Some('s'), Kind::Value),
    f("token", None, Kind::Value),
    f("insecure-skip-tls-verify", None, Kind::Bool),
    f("certificate-authority", None, Kind::Value),
    f("client-certificate", None, Kind::Value),
    f("client-key", None, Kind::Value),
    f("tls-server-name", None, Kind::Value),
    f("request-timeout", None, Kind::Value),
    f("as", None, Kind::Value),
    f("as-group", None, Kind::Multi),
    f("as-uid", None, Kind::Value),
    f("cache-dir", None, Kind::Value),
    f("disable-compression", None, Kind::Bool),
    f("match-server-version", None, Kind::Bool),
    f("password", None, Kind::Value),
    f("username", None, Kind::Value),
    f("profile", None, Kind::Value),
    f("profile-output", None, Kind::Value),
    f("warnings-as-errors", None, Kind::Bool),
    f("v", Some('v'), Kind::Value),
    f("vmodule", None, Kind::Value),
    f("log-flush-frequency", None, Kind::Value),
    f("help", Some('h'), Kind::Bool),
];

/// A command failure, printed the way kubectl prints it.
#[derive(Debug, thiserror::Error)]
pub enum CmdError {
    /// Bad usage: `error: MSG` + `See 'kubectl CMD --help' for usage.`
    #[error("error: {msg}\nSee 'kubectl {cmd} --help' for usage.")]
    Usage {
        /// The message.
        msg: String,
        /// Command path, e.g. `get` or `config view`.
        cmd: String,
    },
    /// cmdutil.UsageErrorf: `error: MSG` + `See 'kubectl CMD -h' for help and examples`
    #[error("error: {msg}\nSee 'kubectl {cmd} -h' for help and examples")]
    UsageH {
        /// The message.
        msg: String,
        /// Command path.
        cmd: String,
    },
    /// `error: MSG`
    #[error("error: {0}")]
    Msg(String),
    /// A complete line printed as is (e.g. `Error from server (NotFound): …`).
    #[error("{0}")]
    Raw(String),
    /// Exit with a code after printing nothing more.
    #[error("")]
    Exit(i32),
}

impl CmdError {
    /// The process exit code for this error.
    pub fn code(&self) -> i32 {
        match self {
            CmdError::Exit(c) => *c,
            _ => 1,
        }
    }
}

/// Result alias for commands.
pub type CmdResult = Result<(), CmdError>;

/// One invocation: parsed flags and the command path.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// Parsed flags (globals and the command's own).
    pub p: Parsed,
    /// Command path for messages (`get`, `config view`).
    pub cmd: String,
}

impl Ctx {
    /// A usage error for this command.
    pub fn usage(&self, msg: impl Into<String>) -> CmdError {
        CmdError::Usage {
            msg: msg.into(),
            cmd: self.cmd.clone(),
        }
    }

    /// A usage error in cmdutil.UsageErrorf's wording.
    pub fn usage_h(&self, msg: impl Into<String>) -> CmdError {
        CmdError::UsageH {
            msg: msg.into(),
            cmd: self.cmd.clone(),
        }
    }

    /// Positional arguments.
    pub fn args(&self) -> &[String] {
        &self.p.args
    }

    /// `-n` as given.
    pub fn namespace_flag(&self) -> Option<&str> {
        self.p.get("namespace").filter(|s| !s.is_empty())
    }
}

/// Writes to stdout, ignoring broken pipes.
pub fn out(s: &str) {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(s.as_bytes());
    let _ = o.flush();
}

/// Writes to stderr.
pub fn err(s: &str) {
    use std::io::Write;
    let mut o = std::io::stderr().lock();
    let _ = o.write_all(s.as_bytes());
    let _ = o.flush();
}
