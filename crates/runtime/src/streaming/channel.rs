//! The Kubernetes WebSocket channel protocol: a leading channel byte per binary
//! frame (0 stdin, 1 stdout, 2 stderr, 3 error/status, 4 resize, 255 close in v5).

use axum::extract::ws::Message;

/// Subprotocols accepted for exec/attach, preferred first.
pub(crate) const EXEC_PROTOCOLS: [&str; 3] =
    ["v5.channel.k8s.io", "v4.channel.k8s.io", "channel.k8s.io"];
/// Subprotocols accepted for port-forward.
pub(crate) const PORTFORWARD_PROTOCOLS: [&str; 3] = [
    "v2.portforward.k8s.io",
    "v4.channel.k8s.io",
    "channel.k8s.io",
];

/// Channel numbers.
pub(crate) const STDIN: u8 = 0;
/// Standard output.
pub(crate) const STDOUT: u8 = 1;
/// Standard error.
pub(crate) const STDERR: u8 = 2;
/// Status (metav1.Status JSON).
pub(crate) const ERROR: u8 = 3;
/// Terminal resize JSON.
pub(crate) const RESIZE: u8 = 4;
/// v5: close a stream (payload: the channel).
pub(crate) const CLOSE: u8 = 255;

/// A frame on `channel`.
pub(crate) fn frame(channel: u8, data: &[u8]) -> Message {
    let mut v = Vec::with_capacity(data.len() + 1);
    v.push(channel);
    v.extend_from_slice(data);
    Message::Binary(v.into())
}

/// The metav1.Status sent on the error channel when a command ends.
pub(crate) fn exit_status(code: i32) -> String {
    if code == 0 {
        return r#"{"metadata":{},"status":"Success"}"#.to_string();
    }
    serde_json::json!({
        "metadata": {},
        "status": "Failure",
        "message": format!("command terminated with non-zero exit code: error executing command, exit code {code}"),
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
    })
    .to_string()
}

/// The metav1.Status for an internal error.
pub(crate) fn error_status(message: &str) -> String {
    serde_json::json!({
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": "InternalError",
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_json() {
        assert!(exit_status(0).contains("Success"));
        let v: serde_json::Value = serde_json::from_str(&exit_status(3)).unwrap();
        assert_eq!(v["reason"], "NonZeroExitCode");
        assert_eq!(v["details"]["causes"][0]["message"], "3");
    }
}
