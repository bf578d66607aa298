//! The outcome of a plugin call, as data: a code plus human-readable reasons.

/// Result code of a plugin, mirroring upstream's framework codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// The pod fits.
    Success,
    /// The pod does not fit now; preemption or a cluster change may help.
    Unschedulable,
    /// The pod does not fit and preemption would not help.
    UnschedulableAndUnresolvable,
    /// The plugin itself failed.
    Error,
}

/// A plugin decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// What happened.
    pub code: Code,
    /// Why (each reason is counted separately in the failure message).
    pub reasons: Vec<String>,
    /// Name of the plugin that returned it (filled by the framework).
    pub plugin: &'static str,
}

impl Status {
    /// A success.
    pub fn success() -> Self {
        Status {
            code: Code::Success,
            reasons: Vec::new(),
            plugin: "",
        }
    }

    /// A failure with one reason.
    pub fn new(code: Code, reason: impl Into<String>) -> Self {
        Status {
            code,
            reasons: vec![reason.into()],
            plugin: "",
        }
    }

    /// A failure with several reasons.
    pub fn with_reasons(code: Code, reasons: Vec<String>) -> Self {
        Status {
            code,
            reasons,
            plugin: "",
        }
    }

    /// Whether the pod passed.
    pub fn is_success(&self) -> bool {
        self.code == Code::Success
    }
}
