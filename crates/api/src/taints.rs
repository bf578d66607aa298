//! Taints and tolerations: whether a toleration tolerates a taint (upstream's
//! `Toleration.ToleratesTaint`), the list forms the scheduler and taint manager use, and the
//! DefaultTolerationSeconds admission test on raw JSON tolerations.

use k8s_openapi::api::core::v1::{Taint, Toleration};
use serde_json::Value;

/// Taint effect: do not schedule new pods.
pub const NO_SCHEDULE: &str = "NoSchedule";
/// Taint effect: prefer not to schedule new pods.
pub const PREFER_NO_SCHEDULE: &str = "PreferNoSchedule";
/// Taint effect: evict running pods that do not tolerate it.
pub const NO_EXECUTE: &str = "NoExecute";

/// Whether `t` tolerates `taint`: an empty effect matches every effect, an empty key every
/// key; `Exists` matches any value, `Equal` (or no operator) compares values, and any other
/// operator tolerates nothing.
pub fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    let effect = t.effect.as_deref().unwrap_or("");
    if !effect.is_empty() && effect != taint.effect {
        return false;
    }
    let key = t.key.as_deref().unwrap_or("");
    if !key.is_empty() && key != taint.key {
        return false;
    }
    match t.operator.as_deref().unwrap_or("") {
        "" | "Equal" => t.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
        "Exists" => true,
        _ => false,
    }
}

/// Whether any of `tolerations` tolerates `taint` (upstream's `TolerationsTolerateTaint`).
pub fn tolerated_by_any(tolerations: &[Toleration], taint: &Taint) -> bool {
    tolerations.iter().any(|t| tolerates(t, taint))
}

/// The first taint passing `filter` that no toleration tolerates (upstream's
/// `FindMatchingUntoleratedTaint`).
pub fn find_untolerated<'a>(
    taints: &'a [Taint],
    tolerations: &[Toleration],
    filter: impl Fn(&Taint) -> bool,
) -> Option<&'a Taint> {
    taints
        .iter()
        .find(|taint| filter(taint) && !tolerated_by_any(tolerations, taint))
}

/// The tolerations matching some taint, or `None` when a taint is not tolerated at all
/// (upstream's `GetMatchingTolerations`, used by the NoExecute taint manager).
pub fn matching_tolerations<'a>(
    taints: &[Taint],
    tolerations: &'a [Toleration],
) -> Option<Vec<&'a Toleration>> {
    let mut out = Vec::new();
    for taint in taints {
        let before = out.len();
        out.extend(tolerations.iter().filter(|t| tolerates(t, taint)));
        if out.len() == before {
            return None;
        }
    }
    Some(out)
}

/// Whether a raw JSON toleration already covers the `key:NoExecute` taint, by upstream's
/// DefaultTolerationSeconds test: its key is `key` or empty and its effect NoExecute or empty
/// (operator and value are not looked at).
pub fn json_covers_no_execute(toleration: &Value, key: &str) -> bool {
    let field = |name: &str| toleration.get(name).and_then(Value::as_str).unwrap_or("");
    let k = field("key");
    let effect = field("effect");
    (k == key || k.is_empty()) && (effect == NO_EXECUTE || effect.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tol(v: Value) -> Toleration {
        serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"))
    }

    fn taint(key: &str, value: &str, effect: &str) -> Taint {
        Taint {
            key: key.into(),
            value: (!value.is_empty()).then(|| value.into()),
            effect: effect.into(),
            time_added: None,
        }
    }

    /// `TestTolerationToleratesTaint`, plus the operator rules that settle the old copies.
    #[test]
    fn tolerates_table() {
        let cases = [
            (
                json!({"key": "foo", "operator": "Exists", "effect": "NoSchedule"}),
                taint("foo", "", "NoSchedule"),
                true,
            ),
            (
                json!({"key": "foo", "operator": "Exists", "effect": "NoSchedule"}),
                taint("foo", "bar", "NoSchedule"),
                true,
            ),
            (
                json!({"key": "", "operator": "Exists", "effect": "NoSchedule"}),
                taint("foo", "bar", "NoSchedule"),
                true,
            ),
            (
                json!({"key": "foo", "operator": "Equal", "value": "bar", "effect": "NoSchedule"}),
                taint("foo", "bar", "NoSchedule"),
                true,
            ),
            (
                json!({"key": "foo", "operator": "Equal", "value": "value1", "effect": "NoSchedule"}),
                taint("foo", "value2", "NoSchedule"),
                false,
            ),
            (
                json!({"key": "foo", "operator": "Equal", "value": "bar", "effect": "NoSchedule"}),
                taint("foo", "bar", "NoExecute"),
                false,
            ),
            // empty operator means Equal; empty effect matches all effects
            (
                json!({"key": "foo", "value": "bar"}),
                taint("foo", "bar", "NoExecute"),
                true,
            ),
            (
                json!({"key": "foo"}),
                taint("foo", "bar", "NoSchedule"),
                false,
            ),
            (
                json!({"operator": "Exists"}),
                taint("any", "thing", "NoExecute"),
                true,
            ),
            (
                json!({"key": "other", "operator": "Exists"}),
                taint("foo", "", "NoSchedule"),
                false,
            ),
            // an unknown operator tolerates nothing
            (
                json!({"key": "foo", "operator": "Bogus", "value": "bar"}),
                taint("foo", "bar", "NoSchedule"),
                false,
            ),
            (
                json!({"key": "foo", "operator": "Gt", "value": "1"}),
                taint("foo", "2", "NoSchedule"),
                false,
            ),
        ];
        for (t, taint, want) in cases {
            assert_eq!(tolerates(&tol(t.clone()), &taint), want, "{t} vs {taint:?}");
        }
    }

    /// `TestTolerationsTolerateTaintsWithFilter`.
    #[test]
    fn untolerated_with_filter() {
        let foo = tol(json!({"key": "foo", "operator": "Exists", "effect": "NoSchedule"}));
        let foo_ne = tol(json!({"key": "foo", "operator": "Exists", "effect": "NoExecute"}));
        let all = |_: &Taint| true;
        let none = |_: &Taint| false;
        assert!(find_untolerated(&[], &[], all).is_none());
        assert!(find_untolerated(&[], std::slice::from_ref(&foo), all).is_none());
        let t_foo = [taint("foo", "", "NoSchedule")];
        assert!(find_untolerated(&t_foo, std::slice::from_ref(&foo), all).is_none());
        let t_bar = [taint("bar", "", "NoSchedule")];
        assert!(find_untolerated(&t_bar, std::slice::from_ref(&foo), none).is_none());
        assert_eq!(
            find_untolerated(&t_bar, std::slice::from_ref(&foo), all).map(|t| t.key.as_str()),
            Some("bar")
        );
        let mixed = [
            taint("foo", "", "NoExecute"),
            taint("bar", "", "NoSchedule"),
        ];
        let no_execute = |t: &Taint| t.effect == NO_EXECUTE;
        assert!(find_untolerated(&mixed, &[foo_ne], no_execute).is_none());
    }

    #[test]
    fn matching_tolerations_per_taint() {
        let ts = [
            tol(json!({"key": "a", "operator": "Exists", "tolerationSeconds": 5})),
            tol(json!({"operator": "Exists", "effect": "NoSchedule"})),
        ];
        let a = taint("a", "", "NoExecute");
        let b = taint("b", "", "NoExecute");
        assert_eq!(
            matching_tolerations(std::slice::from_ref(&a), &ts).map(|m| m.len()),
            Some(1)
        );
        assert_eq!(matching_tolerations(&[a, b], &ts), None);
        assert_eq!(matching_tolerations(&[], &ts), Some(vec![]));
    }

    /// Upstream's DefaultTolerationSeconds admission cases.
    #[test]
    fn covers_no_execute() {
        let key = "node.kubernetes.io/not-ready";
        let cases = [
            (
                json!({"key": key, "operator": "Exists", "effect": "NoExecute"}),
                true,
            ),
            (
                json!({"key": key, "operator": "Equal", "value": "x", "effect": "NoExecute"}),
                true,
            ),
            (json!({"key": key}), true),
            (json!({"operator": "Exists"}), true),
            (json!({"operator": "Exists", "effect": "NoExecute"}), true),
            (json!({"key": key, "effect": "NoSchedule"}), false),
            (
                json!({"key": "node.kubernetes.io/unreachable", "operator": "Exists"}),
                false,
            ),
        ];
        for (t, want) in cases {
            assert_eq!(json_covers_no_execute(&t, key), want, "{t}");
        }
    }
}
