//! Cases from upstream's `component-helpers/resource/helpers_test.go`; each pod is checked
//! through both the typed and the raw JSON reader.

use serde_json::{json, Value};

use super::*;

fn list(pairs: &[(&str, &str)]) -> ResourceList {
    pairs
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                v.parse().unwrap_or_else(|e| panic!("{v}: {e}")),
            )
        })
        .collect()
}

fn container(requests: Value, limits: Value) -> Value {
    json!({"name": "c", "resources": {"requests": requests, "limits": limits}})
}

fn sidecar(requests: Value) -> Value {
    json!({"name": "s", "restartPolicy": "Always", "resources": {"requests": requests, "limits": requests}})
}

fn pod(containers: Vec<Value>, init: Vec<Value>, overhead: Value) -> Value {
    json!({"metadata": {"name": "p"}, "spec": {"containers": containers, "initContainers": init, "overhead": overhead}})
}

fn check(p: &Value, opts: &PodResourcesOptions, reqs: &[(&str, &str)], lims: &[(&str, &str)]) {
    let typed: Pod = serde_json::from_value(p.clone()).unwrap_or_else(|e| panic!("{p}: {e}"));
    for (name, got) in [
        ("typed", PodResources::from_pod(&typed)),
        ("json", PodResources::from_json(p)),
    ] {
        assert_eq!(got.requests(opts), list(reqs), "{name} requests of {p}");
        assert_eq!(got.limits(opts), list(lims), "{name} limits of {p}");
    }
}

/// `getPod`: one container and one init container with the same resources, plus overhead.
fn upstream_get_pod(requests: Value, limits: Value, overhead: Value) -> Value {
    let c = container(requests, limits);
    pod(vec![c.clone()], vec![c], overhead)
}

#[test]
fn requests_and_limits_with_overhead() {
    type Pairs = &'static [(&'static str, &'static str)];
    let cases: &[(Value, Value, Value, Pairs, Pairs)] = &[
        (
            json!({}),
            json!({"cpu": "9"}),
            json!({}),
            &[],
            &[("cpu", "9")],
        ),
        (
            json!({}),
            json!({}),
            json!({"cpu": "5", "memory": "5"}),
            &[("cpu", "5"), ("memory", "5")],
            &[],
        ),
        (
            json!({"cpu": "1", "memory": "10"}),
            json!({}),
            json!({"cpu": "5", "memory": "5"}),
            &[("cpu", "6"), ("memory", "15")],
            &[],
        ),
        (
            json!({"cpu": "1", "memory": "10"}),
            json!({"cpu": "2", "memory": "12"}),
            json!({"cpu": "5", "memory": "5"}),
            &[("cpu", "6"), ("memory", "15")],
            &[("cpu", "7"), ("memory", "17")],
        ),
        (
            json!({"cpu": "1", "memory": "10"}),
            json!({"cpu": "2"}),
            json!({"cpu": "5", "memory": "5"}),
            &[("cpu", "6"), ("memory", "15")],
            &[("cpu", "7")],
        ),
    ];
    for (req, lim, overhead, want_req, want_lim) in cases {
        let p = upstream_get_pod(req.clone(), lim.clone(), overhead.clone());
        check(&p, &PodResourcesOptions::default(), want_req, want_lim);
    }
}

#[test]
fn requests_and_limits_without_overhead() {
    let opts = PodResourcesOptions {
        exclude_overhead: true,
        ..Default::default()
    };
    let two = vec![
        container(
            json!({"cpu": "1", "memory": "5"}),
            json!({"cpu": "2", "memory": "10"}),
        ),
        container(
            json!({"cpu": "4", "memory": "12"}),
            json!({"cpu": "8", "memory": "24"}),
        ),
    ];
    let overhead = json!({"cpu": "3", "memory": "8"});
    let sum = (
        &[("cpu", "5"), ("memory", "17")][..],
        &[("cpu", "10"), ("memory", "34")][..],
    );
    check(&pod(two.clone(), vec![], json!({})), &opts, sum.0, sum.1);
    check(
        &pod(two.clone(), vec![], overhead.clone()),
        &opts,
        sum.0,
        sum.1,
    );
    let inits = vec![
        container(
            json!({"cpu": "1", "memory": "5"}),
            json!({"cpu": "1", "memory": "5"}),
        ),
        container(
            json!({"cpu": "40", "memory": "120"}),
            json!({"cpu": "80", "memory": "240"}),
        ),
    ];
    check(
        &pod(two, inits, overhead),
        &opts,
        &[("cpu", "40"), ("memory", "120")],
        &[("cpu", "80"), ("memory", "240")],
    );
}

#[test]
fn init_containers_and_sidecars() {
    let cpu = |v: &str| container(json!({"cpu": v}), json!({"cpu": v}));
    let side = |v: &str| sidecar(json!({"cpu": v}));
    let cases: Vec<(&str, Vec<Value>, Vec<Value>, &str)> = vec![
        ("larger init container", vec![cpu("1")], vec![cpu("4")], "4"),
        (
            "larger containers",
            vec![cpu("2"), cpu("3")],
            vec![cpu("2")],
            "5",
        ),
        (
            "restartable init container",
            vec![cpu("1")],
            vec![side("1")],
            "2",
        ),
        (
            "multiple restartable init containers",
            vec![cpu("1")],
            vec![cpu("5"), side("1"), side("2"), side("3")],
            "7",
        ),
        (
            "multiple restartable and regular init containers",
            vec![cpu("1")],
            vec![cpu("5"), side("1"), side("2"), cpu("5"), side("3")],
            "8",
        ),
        (
            "restartable-init, init and regular",
            vec![cpu("100")],
            vec![side("10"), cpu("200")],
            "210",
        ),
    ];
    for (what, containers, init, want) in cases {
        let p = pod(containers, init, json!({}));
        let opts = PodResourcesOptions::default();
        let got = PodResources::from_json(&p);
        assert_eq!(got.requests(&opts), list(&[("cpu", want)]), "{what}");
        assert_eq!(got.limits(&opts), list(&[("cpu", want)]), "{what}");
    }
}

#[test]
fn limits_only_where_containers_have_them() {
    let limited = container(json!({}), json!({"cpu": "2", "memory": "2Gi"}));
    let unlimited = json!({"name": "u"});
    let opts = PodResourcesOptions::default();
    check(
        &pod(vec![unlimited.clone()], vec![], json!({})),
        &opts,
        &[],
        &[],
    );
    check(
        &pod(vec![limited.clone(), unlimited.clone()], vec![], json!({})),
        &opts,
        &[],
        &[("cpu", "2"), ("memory", "2Gi")],
    );
    let small = container(json!({}), json!({"cpu": "1", "memory": "1Gi"}));
    check(
        &pod(
            vec![small],
            vec![limited, unlimited],
            json!({"cpu": "1", "memory": "1Gi"}),
        ),
        &opts,
        &[("cpu", "1"), ("memory", "1Gi")],
        &[("cpu", "3"), ("memory", "3Gi")],
    );
}

#[test]
fn non_missing_requests_fill_only_absent_names() {
    let opts = PodResourcesOptions {
        non_missing_container_requests: list(&[("cpu", "100m"), ("memory", "200Mi")]),
        ..Default::default()
    };
    let p = pod(
        vec![
            json!({"name": "a"}),
            container(json!({"cpu": "1", "memory": "0"}), json!({})),
        ],
        vec![],
        json!({}),
    );
    check(&p, &opts, &[("cpu", "1100m"), ("memory", "200Mi")], &[]);
}

#[test]
fn list_helpers() {
    let mut a = list(&[("cpu", "1"), ("memory", "1Gi")]);
    add_into(&mut a, &list(&[("cpu", "500m"), ("pods", "1")]));
    assert_eq!(
        a,
        list(&[("cpu", "1500m"), ("memory", "1Gi"), ("pods", "1")])
    );
    assert_eq!(a["memory"].to_string(), "1Gi");
    max_into(
        &mut a,
        &list(&[("cpu", "1"), ("memory", "2Gi"), ("x/y", "3")]),
    );
    assert_eq!(
        a,
        list(&[
            ("cpu", "1500m"),
            ("memory", "2Gi"),
            ("pods", "1"),
            ("x/y", "3")
        ])
    );
    let j = from_json(Some(&json!({"cpu": 2, "memory": "bad", "pods": "10"})));
    assert_eq!(j, list(&[("cpu", "2"), ("pods", "10")]));
}
