//! kubectl's error texts for failed requests: refused connections, the server's Status
//! (`Error from server (Reason): …`), the file a failure came from, and the klog lines
//! discovery prints on a refused connection.

use super::api::Api;
use crate::ctx::CmdError;
use serde_json::Value;

/// Failures talking to the server.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// TCP connection refused.
    #[error(
        "The connection to the server {0} was refused - did you specify the right host or port?"
    )]
    Refused(String),
    /// The server answered with an error Status.
    #[error("{}", status_line(.reason, .message))]
    Status {
        /// HTTP code.
        code: u16,
        /// Status reason (NotFound, AlreadyExists …).
        reason: String,
        /// Status message.
        message: String,
    },
    /// Anything else.
    #[error("Unable to connect to the server: {0}")]
    Other(String),
}

fn status_line(reason: &str, message: &str) -> String {
    if reason.is_empty() || reason == "Unknown" {
        format!("Error from server: {message}")
    } else {
        format!("Error from server ({reason}): {message}")
    }
}

impl From<ApiError> for CmdError {
    fn from(e: ApiError) -> Self {
        CmdError::Raw(e.to_string())
    }
}

impl ApiError {
    /// cmdutil.AddSourceToErr: names the file in a server error (`error when creating
    /// "x.yaml": …`).
    pub fn with_source(self, verb: &str, source: &str) -> ApiError {
        match self {
            ApiError::Status {
                code,
                reason,
                message,
            } if !source.is_empty() => ApiError::Status {
                code,
                reason,
                message: format!("error when {verb} \"{source}\": {message}"),
            },
            other => other,
        }
    }

    /// True for a 404.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ApiError::Status { code: 404, .. })
    }
}

/// An error answer's body (a Status) as an [`ApiError`].
pub fn status_error(code: u16, body: &[u8]) -> ApiError {
    match serde_json::from_slice::<Value>(body) {
        Ok(st) if st.get("kind").and_then(Value::as_str) == Some("Status") => ApiError::Status {
            code,
            reason: st
                .get("reason")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            message: st
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        },
        _ => ApiError::Status {
            code,
            reason: String::new(),
            message: format!(
                "the server responded with the status code {code} but did not return more information"
            ),
        },
    }
}

/// Prints the klog line kubectl logs when discovery fails on a refused connection.
pub fn discovery_refused_log(api: &Api) {
    let host = api.host.replace("localhost", "127.0.0.1");
    // kubectl's discovery retries five times before giving up
    for _ in 0..5 {
        let now = chrono::Local::now();
        crate::ctx::err(&format!(
        "E{} {:>7} memcache.go:265] \"Unhandled Error\" err=\"couldn't get current server API group list: Get \\\"{}/api?timeout=32s\\\": dial tcp {}: connect: connection refused\"\n",
        now.format("%m%d %H:%M:%S%.6f"),
        std::process::id(),
        api.url,
        host
    ));
    }
}
