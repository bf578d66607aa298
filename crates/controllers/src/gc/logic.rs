//! Garbage-collector decisions as data: what to do with an object given its owners' state.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

/// Finalizer asking the GC to delete dependents first.
pub const FOREGROUND: &str = "foregroundDeletion";
/// Finalizer asking the GC to orphan dependents.
pub const ORPHAN: &str = "orphan";

/// State of one owner as the GC knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerState {
    /// Exists and is not being deleted.
    Alive,
    /// Being deleted with `foregroundDeletion`.
    DeletingForeground,
    /// Exists, being deleted otherwise.
    Deleting,
    /// Does not exist (verified).
    Absent,
}

/// What to do with a dependent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DependentAction {
    /// Leave it.
    Keep,
    /// Delete it (background, or foreground when an owner waits for it).
    Delete {
        /// Use foreground propagation.
        foreground: bool,
    },
    /// Remove these dangling owner references (by uid).
    RemoveRefs(Vec<String>),
}

/// Decides for a dependent with `refs` whose owners are in `states` (same order).
pub fn decide_dependent(refs: &[OwnerReference], states: &[OwnerState]) -> DependentAction {
    if refs.is_empty() {
        return DependentAction::Keep;
    }
    let absent: Vec<String> = refs
        .iter()
        .zip(states)
        .filter(|(_, s)| **s == OwnerState::Absent)
        .map(|(r, _)| r.uid.clone())
        .collect();
    let waiting = refs
        .iter()
        .zip(states)
        .any(|(r, s)| *s == OwnerState::DeletingForeground && r.block_owner_deletion == Some(true));
    let solid = states
        .iter()
        .any(|s| *s == OwnerState::Alive || *s == OwnerState::Deleting);
    if absent.len() == refs.len() {
        return DependentAction::Delete { foreground: false };
    }
    if !solid
        && states
            .iter()
            .all(|s| matches!(s, OwnerState::Absent | OwnerState::DeletingForeground))
    {
        return DependentAction::Delete {
            foreground: waiting,
        };
    }
    if !absent.is_empty() {
        return DependentAction::RemoveRefs(absent);
    }
    DependentAction::Keep
}

/// What to do with an owner being deleted that carries GC finalizers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerAction {
    /// Nothing.
    None,
    /// Strip our owner reference from these dependents, then drop `orphan`.
    Orphan,
    /// Delete these dependents (they are not being deleted yet); wait.
    DeleteDependents,
    /// No blocking dependents left: drop `foregroundDeletion`.
    RemoveForegroundFinalizer,
}

/// Decides for a deleting owner: `dependents` are (blocks owner deletion, is deleting).
pub fn decide_owner(
    deleting: bool,
    finalizers: &[String],
    dependents: &[(bool, bool)],
) -> OwnerAction {
    if !deleting {
        return OwnerAction::None;
    }
    if finalizers.iter().any(|f| f == ORPHAN) {
        return OwnerAction::Orphan;
    }
    if finalizers.iter().any(|f| f == FOREGROUND) {
        if dependents.iter().any(|(_, deleting)| !deleting) {
            return OwnerAction::DeleteDependents;
        }
        if dependents.iter().any(|(blocks, _)| *blocks) {
            return OwnerAction::None;
        }
        return OwnerAction::RemoveForegroundFinalizer;
    }
    OwnerAction::None
}

#[cfg(test)]
mod tests {
    use super::*;
    use OwnerState::*;

    fn r(uid: &str, block: bool) -> OwnerReference {
        OwnerReference {
            uid: uid.into(),
            block_owner_deletion: Some(block),
            controller: Some(true),
            ..Default::default()
        }
    }

    #[test]
    fn dependent_table() {
        assert_eq!(decide_dependent(&[], &[]), DependentAction::Keep);
        assert_eq!(
            decide_dependent(&[r("a", true)], &[Alive]),
            DependentAction::Keep
        );
        assert_eq!(
            decide_dependent(&[r("a", true)], &[Absent]),
            DependentAction::Delete { foreground: false }
        );
        assert_eq!(
            decide_dependent(&[r("a", true)], &[DeletingForeground]),
            DependentAction::Delete { foreground: true }
        );
        assert_eq!(
            decide_dependent(&[r("a", true), r("b", false)], &[Absent, Alive]),
            DependentAction::RemoveRefs(vec!["a".into()])
        );
        assert_eq!(
            decide_dependent(&[r("a", true)], &[Deleting]),
            DependentAction::Keep
        );
    }

    #[test]
    fn owner_table() {
        let f = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            decide_owner(false, &f(&[FOREGROUND]), &[]),
            OwnerAction::None
        );
        assert_eq!(
            decide_owner(true, &f(&[ORPHAN]), &[(true, false)]),
            OwnerAction::Orphan
        );
        assert_eq!(
            decide_owner(true, &f(&[FOREGROUND]), &[(true, false)]),
            OwnerAction::DeleteDependents
        );
        assert_eq!(
            decide_owner(true, &f(&[FOREGROUND]), &[(true, true)]),
            OwnerAction::None
        );
        assert_eq!(
            decide_owner(true, &f(&[FOREGROUND]), &[(false, true)]),
            OwnerAction::RemoveForegroundFinalizer
        );
        assert_eq!(
            decide_owner(true, &f(&[FOREGROUND]), &[]),
            OwnerAction::RemoveForegroundFinalizer
        );
    }
}
