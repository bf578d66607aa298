//! Scaling a Deployment that is paused or being resized (upstream's `sync`/`scale`): one
//! active ReplicaSet takes the whole count; a saturated new ReplicaSet retires the old
//! ones; otherwise a rolling Deployment spreads the change over its active ReplicaSets in
//! proportion to their sizes, so a resize neither hastens nor reverts a rollout.

use std::cmp::Ordering;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::template::{annotation, available, spec_replicas};
use super::{DESIRED, MAX};

/// What the proportional step needs of the Deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// spec.replicas.
    pub want: i32,
    /// The resolved maxSurge (0 for Recreate).
    pub surge: i32,
    /// RollingUpdate strategy (only rolling Deployments scale proportionally).
    pub rolling: bool,
    /// status.replicas, the fallback when an RS lacks its max-replicas annotation.
    pub status_replicas: i32,
}

fn created(rs: &ReplicaSet) -> (Option<&Time>, Option<&str>) {
    (
        rs.metadata.creation_timestamp.as_ref(),
        rs.metadata.name.as_deref(),
    )
}

/// Whether the new RS runs the full count, all available, for this very size
/// (upstream's `IsSaturated`).
pub fn saturated(new_rs: Option<&ReplicaSet>, want: i32) -> bool {
    new_rs.is_some_and(|rs| {
        spec_replicas(rs) == want
            && annotation(rs, DESIRED) == Some(i64::from(want))
            && available(rs) == want
    })
}

/// Whether any active RS was sized for another replica count (upstream's `isScalingEvent`).
pub fn is_scaling_event(all: &[&ReplicaSet], want: i32) -> bool {
    all.iter()
        .filter(|rs| spec_replicas(rs) > 0)
        .filter_map(|rs| annotation(rs, DESIRED))
        .any(|desired| desired != i64::from(want))
}

/// The change an RS would get if the Deployment's sizes were simply scaled
/// (upstream's `getReplicaSetFraction`).
fn fraction(rs: &ReplicaSet, s: &Sizes) -> i32 {
    let replicas = spec_replicas(rs);
    if s.want == 0 {
        return -replicas;
    }
    let before = annotation(rs, MAX)
        .filter(|m| *m != 0)
        .unwrap_or(i64::from(s.status_replicas));
    if before == 0 {
        return 0;
    }
    let scaled = f64::from(replicas) * f64::from(s.want + s.surge) / before as f64;
    scaled.round() as i32 - replicas
}

/// This RS's share of `to_add`, of which `added` is handed out (upstream's `GetProportion`).
fn proportion(rs: &ReplicaSet, s: &Sizes, to_add: i32, added: i32) -> i32 {
    if spec_replicas(rs) == 0 || to_add == 0 || to_add == added {
        return 0;
    }
    let allowed = to_add - added;
    if to_add > 0 {
        fraction(rs, s).min(allowed)
    } else {
        fraction(rs, s).max(allowed)
    }
}

/// Target sizes of the ReplicaSets to scale, `olds` oldest first.
pub fn scale<'a>(
    new_rs: Option<&'a ReplicaSet>,
    olds: &[&'a ReplicaSet],
    s: &Sizes,
) -> Vec<(&'a ReplicaSet, i32)> {
    let all: Vec<&ReplicaSet> = olds.iter().copied().chain(new_rs).collect();
    let mut active: Vec<&ReplicaSet> = all
        .iter()
        .copied()
        .filter(|r| spec_replicas(r) > 0)
        .collect();
    if active.len() <= 1 {
        // The only active one, else the newest one, takes the whole count.
        let latest = active.first().copied().or(new_rs).or(olds.last().copied());
        return latest.map(|rs| (rs, s.want)).into_iter().collect();
    }
    if saturated(new_rs, s.want) {
        return olds
            .iter()
            .filter(|r| spec_replicas(r) > 0)
            .map(|r| (*r, 0))
            .collect();
    }
    if !s.rolling {
        return Vec::new();
    }
    let allowed = if s.want > 0 { s.want + s.surge } else { 0 };
    let to_add = allowed - active.iter().map(|r| spec_replicas(r)).sum::<i32>();
    // Larger first; among equals, newer first when growing and older first when shrinking.
    let by_size = |a: &&ReplicaSet, b: &&ReplicaSet| -> Ordering {
        let ages = if to_add > 0 {
            created(b).cmp(&created(a))
        } else {
            created(a).cmp(&created(b))
        };
        spec_replicas(b).cmp(&spec_replicas(a)).then(ages)
    };
    if to_add != 0 {
        active.sort_by(by_size);
    }
    let mut added = 0;
    let mut sizes: Vec<(&ReplicaSet, i32)> = active
        .iter()
        .map(|rs| {
            let p = proportion(rs, s, to_add, added);
            added += p;
            (*rs, spec_replicas(rs) + p)
        })
        .collect();
    if let Some(first) = sizes.first_mut().filter(|_| to_add != 0) {
        first.1 = (first.1 + to_add - added).max(0);
    }
    sizes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An RS sized `replicas`, created `hour`, annotated for a deployment of `desired`
    /// replicas with `surge`.
    fn rs(name: &str, replicas: i32, hour: u32, desired: i32, surge: i32) -> ReplicaSet {
        serde_json::from_value(json!({"metadata": {"name": name,
            "creationTimestamp": format!("2016-05-20T0{hour}:00:00Z"),
            "annotations": {DESIRED: desired.to_string(), MAX: (desired + surge).to_string()}},
            "spec": {"replicas": replicas, "selector": {}},
            "status": {"replicas": replicas, "availableReplicas": replicas}}))
        .unwrap()
    }

    /// Upstream's TestScale: (name, want, surge, before, (new), olds newest first, want new,
    /// want olds).
    #[test]
    fn scale_table() {
        type Case = (
            &'static str,
            i32,
            i32,
            i32,
            Option<i32>,
            &'static [i32],
            Option<i32>,
            &'static [i32],
        );
        let cases: &[Case] = &[
            (
                "normal scaling event: 10 -> 12",
                12,
                0,
                10,
                Some(10),
                &[],
                Some(12),
                &[],
            ),
            (
                "normal scaling event: 10 -> 5",
                5,
                0,
                10,
                Some(10),
                &[],
                Some(5),
                &[],
            ),
            (
                "proportional scaling: 5 -> 10",
                10,
                0,
                5,
                Some(2),
                &[3],
                Some(4),
                &[6],
            ),
            (
                "proportional scaling: 5 -> 3",
                3,
                0,
                5,
                Some(2),
                &[3],
                Some(1),
                &[2],
            ),
            (
                "proportional scaling: 9 -> 4",
                4,
                0,
                9,
                Some(8),
                &[1],
                Some(4),
                &[0],
            ),
            (
                "proportional scaling: 7 -> 10",
                10,
                0,
                7,
                Some(2),
                &[3, 2],
                Some(3),
                &[4, 3],
            ),
            (
                "proportional scaling: 13 -> 8",
                8,
                0,
                13,
                Some(2),
                &[8, 3],
                Some(1),
                &[5, 2],
            ),
            (
                "leftover distribution: 3 -> 4",
                4,
                0,
                3,
                Some(1),
                &[1, 1],
                Some(2),
                &[1, 1],
            ),
            (
                "leftover distribution: 3 -> 2",
                2,
                0,
                3,
                Some(1),
                &[1, 1],
                Some(1),
                &[1, 0],
            ),
            ("no new rs: 4 -> 5", 5, 0, 4, None, &[2, 2], None, &[3, 2]),
            (
                "scale to zero: 6 -> 0",
                0,
                0,
                6,
                Some(3),
                &[2, 1],
                Some(0),
                &[0, 0],
            ),
            (
                "scale up from zero: 0 -> 6",
                6,
                0,
                6,
                Some(0),
                &[0, 0],
                Some(6),
                &[0, 0],
            ),
            (
                "deployment with surge pods",
                20,
                2,
                10,
                Some(6),
                &[6],
                Some(11),
                &[11],
            ),
            (
                "no new rs, size changes: 10 -> 14",
                14,
                0,
                10,
                None,
                &[7, 3],
                None,
                &[10, 4],
            ),
        ];
        for (name, want, surge, before, new, olds, want_new, want_olds) in cases {
            let new_rs = new.map(|n| rs("new", n, 3, *before, *surge));
            // olds are given newest first (hours 2, 1); the plan takes them oldest first.
            let olds: Vec<ReplicaSet> = olds
                .iter()
                .enumerate()
                .map(|(i, n)| rs(&format!("old{i}"), *n, 2 - i as u32, *before, *surge))
                .rev()
                .collect();
            let old_refs: Vec<&ReplicaSet> = olds.iter().collect();
            let s = Sizes {
                want: *want,
                surge: *surge,
                rolling: true,
                status_replicas: *before,
            };
            let got = scale(new_rs.as_ref(), &old_refs, &s);
            let size_of = |r: &ReplicaSet| {
                got.iter()
                    .find(|(g, _)| g.metadata.name == r.metadata.name)
                    .map_or(spec_replicas(r), |(_, n)| *n)
            };
            assert_eq!(new_rs.as_ref().map(size_of), *want_new, "{name}: new");
            let sizes: Vec<i32> = olds.iter().rev().map(size_of).collect();
            assert_eq!(sizes, want_olds.to_vec(), "{name}: olds");
        }
    }

    /// "failed rs update" and "change both surge and size": annotations from another size.
    #[test]
    fn scale_reads_each_rs_annotation() {
        let (new, old) = (
            rs("v3", 2, 3, 5, 0),
            [rs("v1", 1, 1, 5, 0), rs("v2", 1, 2, 3, 0)],
        );
        let s = Sizes {
            want: 5,
            surge: 0,
            rolling: true,
            status_replicas: 4,
        };
        let got: Vec<i32> = scale(Some(&new), &[&old[0], &old[1]], &s)
            .iter()
            .map(|x| x.1)
            .collect();
        assert_eq!(got, vec![2, 2, 1], "v3, v2, v1");
        let (new, old) = (rs("v2", 5, 2, 10, 3), rs("v1", 8, 1, 10, 3));
        let s = Sizes {
            want: 50,
            surge: 6,
            rolling: true,
            status_replicas: 13,
        };
        let got: Vec<i32> = scale(Some(&new), &[&old], &s).iter().map(|x| x.1).collect();
        assert_eq!(got, vec![34, 22], "v1, v2");
    }

    #[test]
    fn saturated_new_rs_retires_olds_and_broken_one_does_not() {
        let s = Sizes {
            want: 2,
            surge: 1,
            rolling: true,
            status_replicas: 3,
        };
        let (new, old) = (rs("new", 2, 3, 2, 1), rs("old", 1, 1, 2, 1));
        let got: Vec<(Option<&str>, i32)> = scale(Some(&new), &[&old], &s)
            .iter()
            .map(|(r, n)| (r.metadata.name.as_deref(), *n))
            .collect();
        assert_eq!(got, vec![(Some("old"), 0)]);
        // Upstream: "saturated but broken new replica set does not affect old pods".
        let mut broken = new.clone();
        broken.status.as_mut().unwrap().available_replicas = Some(0);
        assert!(!saturated(Some(&broken), 2));
        let got: Vec<i32> = scale(Some(&broken), &[&old], &s)
            .iter()
            .map(|x| x.1)
            .collect();
        assert_eq!(got, vec![1, 2], "old, new: unchanged");
        // Recreate does not spread a resize.
        let s = Sizes {
            rolling: false,
            ..s
        };
        assert!(scale(Some(&broken), &[&old], &s).is_empty());
    }

    #[test]
    fn scaling_events() {
        let a = rs("a", 3, 1, 3, 0);
        let idle = rs("idle", 0, 1, 7, 0);
        assert!(!is_scaling_event(&[&a, &idle], 3));
        assert!(is_scaling_event(&[&a, &idle], 4));
    }
}
