//! Kubernetes `Status` failures: every error the server returns is one of these.

use serde_json::{json, Map, Value};

/// One field-level cause inside `details.causes`.
#[derive(Debug, Clone)]
pub struct Cause {
    /// e.g. `FieldValueRequired`.
    pub reason: String,
    /// e.g. `spec.containers[0].image`.
    pub field: String,
    /// e.g. `Required value`.
    pub message: String,
}

/// A failed API request, rendered as a `meta/v1 Status` with upstream's code and reason.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status code.
    pub code: u16,
    /// `StatusReason`, e.g. `NotFound`.
    pub reason: &'static str,
    /// Human-readable message, exactly as upstream words it.
    pub message: String,
    /// `details` (boxed to keep results small).
    pub details: Box<Details>,
}

/// The `details` of a Status.
#[derive(Debug, Clone, Default)]
pub struct Details {
    /// `details.name`.
    pub name: Option<String>,
    /// `details.group`.
    pub group: Option<String>,
    /// `details.kind` (the resource plural for most upstream errors).
    pub kind: Option<String>,
    /// `details.causes`.
    pub causes: Vec<Cause>,
    /// `details.retryAfterSeconds`.
    pub retry_after: Option<u32>,
    /// Render `details: {}` even when empty (upstream's generic 404 does; kubectl debug
    /// reads `details.name` from it without a nil check).
    pub always: bool,
}

/// Shorthand result of request handlers.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// A bare error with a code, reason and message.
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: Box::default(),
        }
    }

    fn with_details(mut self, group: &str, kind: &str, name: &str) -> Self {
        self.details.group = Some(group.to_string());
        self.details.kind = Some(kind.to_string());
        if !name.is_empty() {
            self.details.name = Some(name.to_string());
        }
        self
    }

    /// `pods "x" not found` (404).
    pub fn not_found(group: &str, plural: &str, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", qualified(group, plural)),
        )
        .with_details(group, plural, name)
    }

    /// The generic 404 for unknown paths and resources.
    pub fn no_route() -> Self {
        let mut e = Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        );
        e.details.always = true;
        e
    }

    /// `pods "x" already exists` (409).
    pub fn already_exists(group: &str, plural: &str, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", qualified(group, plural)),
        )
        .with_details(group, plural, name)
    }

    /// Optimistic-concurrency failure (409 Conflict).
    pub fn conflict_modified(group: &str, plural: &str, name: &str) -> Self {
        Self::conflict(
            group,
            plural,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// `Operation cannot be fulfilled on pods "x": <why>` (409 Conflict).
    pub fn conflict(group: &str, plural: &str, name: &str, why: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": {why}",
                qualified(group, plural)
            ),
        )
        .with_details(group, plural, name)
    }

    /// `Pod "x" is invalid: <causes>` (422).
    pub fn invalid(group: &str, kind: &str, name: &str, causes: Vec<Cause>) -> Self {
        let qkind = if group.is_empty() {
            kind.to_string()
        } else {
            format!("{kind}.{group}")
        };
        let msg = match causes.len() {
            0 => format!("{qkind} \"{name}\" is invalid"),
            1 => format!("{qkind} \"{name}\" is invalid: {}", cause_text(&causes[0])),
            _ => format!(
                "{qkind} \"{name}\" is invalid: [{}]",
                causes.iter().map(cause_text).collect::<Vec<_>>().join(", ")
            ),
        };
        let mut e = Self::new(422, "Invalid", msg).with_details(group, kind, name);
        e.details.causes = causes;
        e
    }

    /// 400 BadRequest.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// 401 Unauthorized.
    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    /// 403 Forbidden.
    pub fn forbidden(group: &str, plural: &str, name: &str, why: &str) -> Self {
        let msg = if name.is_empty() {
            format!("{} is forbidden: {why}", qualified(group, plural))
        } else {
            format!(
                "{} \"{name}\" is forbidden: {why}",
                qualified(group, plural)
            )
        };
        Self::new(403, "Forbidden", msg).with_details(group, plural, name)
    }

    /// 405 MethodNotAllowed.
    pub fn method_not_allowed(verb: &str, group: &str, plural: &str) -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            format!(
                "{verb} is not supported on resources of kind \"{}\"",
                qualified(group, plural)
            ),
        )
        .with_details(group, plural, "")
    }

    /// 410 Expired: `too old resource version: X (Y)`.
    pub fn expired(requested: i64, compacted: i64) -> Self {
        Self::new(
            410,
            "Expired",
            format!("too old resource version: {requested} ({compacted})"),
        )
    }

    /// 413 RequestEntityTooLarge.
    pub fn too_large() -> Self {
        Self::new(
            413,
            "RequestEntityTooLarge",
            "Request entity too large: limit is 3145728",
        )
    }

    /// 415 UnsupportedMediaType.
    pub fn unsupported_media(ct: &str) -> Self {
        Self::new(415, "UnsupportedMediaType", format!("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {ct})"))
    }

    /// 500 InternalError.
    pub fn internal(message: impl std::fmt::Display) -> Self {
        Self::new(
            500,
            "InternalError",
            format!("Internal error occurred: {message}"),
        )
    }

    /// 503 ServiceUnavailable.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(503, "ServiceUnavailable", message)
    }

    /// The `Status` object.
    pub fn to_status(&self) -> Value {
        let d = &self.details;
        let mut details = Map::new();
        if let Some(n) = &d.name {
            details.insert("name".into(), json!(n));
        }
        if let Some(g) = &d.group {
            details.insert("group".into(), json!(g));
        }
        if let Some(k) = &d.kind {
            details.insert("kind".into(), json!(k));
        }
        if !d.causes.is_empty() {
            let causes: Vec<Value> = d
                .causes
                .iter()
                .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
                .collect();
            details.insert("causes".into(), Value::Array(causes));
        }
        if let Some(r) = d.retry_after {
            details.insert("retryAfterSeconds".into(), json!(r));
        }
        let mut st = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if !details.is_empty() || d.always {
            st["details"] = Value::Object(details);
        }
        st
    }
}

fn qualified(group: &str, plural: &str) -> String {
    if group.is_empty() {
        plural.to_string()
    } else {
        format!("{plural}.{group}")
    }
}

fn cause_text(c: &Cause) -> String {
    if c.field.is_empty() {
        c.message.clone()
    } else {
        format!("{}: {}", c.field, c.message)
    }
}

impl From<skiff_store::StoreError> for ApiError {
    fn from(e: skiff_store::StoreError) -> Self {
        use skiff_store::StoreError as S;
        match e {
            S::Compacted {
                requested,
                compacted,
            } => ApiError::expired(requested, compacted),
            S::FutureRevision(r) => {
                let mut e = ApiError::new(
                    504,
                    "Timeout",
                    format!("Too large resource version: {r}, current: unknown"),
                );
                e.details.retry_after = Some(1);
                e
            }
            other => ApiError::internal(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_shape() {
        let s = ApiError::not_found("", "pods", "x").to_status();
        assert_eq!(s["message"], "pods \"x\" not found");
        assert_eq!(s["code"], 404);
        assert_eq!(s["details"]["kind"], "pods");
        let s = ApiError::not_found("apps", "deployments", "d").to_status();
        assert_eq!(s["message"], "deployments.apps \"d\" not found");
    }

    #[test]
    fn generic_not_found_has_empty_details_like_upstream() {
        let s = ApiError::no_route().to_status();
        assert_eq!(s["details"], json!({}));
        assert_eq!(s["reason"], "NotFound");
        assert!(ApiError::new(400, "BadRequest", "x")
            .to_status()
            .get("details")
            .is_none());
    }

    #[test]
    fn invalid_message() {
        let c = Cause {
            reason: "FieldValueRequired".into(),
            field: "spec.containers[0].image".into(),
            message: "Required value".into(),
        };
        let s = ApiError::invalid("", "Pod", "x", vec![c]).to_status();
        assert_eq!(
            s["message"],
            "Pod \"x\" is invalid: spec.containers[0].image: Required value"
        );
        assert_eq!(
            s["details"]["causes"][0]["field"],
            "spec.containers[0].image"
        );
    }
}
