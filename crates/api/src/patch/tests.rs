//! Patch tests: RFC 7386 examples, strategic merge cases after upstream's, server-side apply ownership and conflicts.

use serde_json::{json, Value};

use super::*;
use crate::registry::find_resource;

fn pods() -> &'static ResourceInfo {
    find_resource("", "v1", "pods").expect("pods")
}

fn deployments() -> &'static ResourceInfo {
    find_resource("apps", "v1", "deployments").expect("deployments")
}

#[test]
fn json_merge_patch_rfc7386_examples() {
    let cases = [
        (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
        (
            json!({"a": "b"}),
            json!({"b": "c"}),
            json!({"a": "b", "b": "c"}),
        ),
        (json!({"a": "b"}), json!({"a": null}), json!({})),
        (
            json!({"a": "b", "b": "c"}),
            json!({"a": null}),
            json!({"b": "c"}),
        ),
        (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
        (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
        (
            json!({"a": {"b": "c"}}),
            json!({"a": {"b": "d", "c": null}}),
            json!({"a": {"b": "d"}}),
        ),
        (
            json!({"a": [{"b": "c"}]}),
            json!({"a": [1]}),
            json!({"a": [1]}),
        ),
        (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
        (json!({"a": "b"}), json!(["c"]), json!(["c"])),
        (json!({"a": "foo"}), json!(null), json!(null)),
        (
            json!({"e": null}),
            json!({"a": 1}),
            json!({"e": null, "a": 1}),
        ),
        (
            json!([1, 2]),
            json!({"a": "b", "c": null}),
            json!({"a": "b"}),
        ),
        (
            json!({}),
            json!({"a": {"bb": {"ccc": null}}}),
            json!({"a": {"bb": {}}}),
        ),
    ];
    for (mut target, patch, want) in cases {
        json_merge_patch(&mut target, &patch);
        assert_eq!(target, want, "patch {patch}");
    }
}

fn pod_with(containers: Value) -> Value {
    json!({"metadata": {"name": "p", "labels": {"a": "1"}, "finalizers": ["x"]}, "spec": {"containers": containers}})
}

#[test]
fn strategic_merges_containers_by_name() {
    let orig = pod_with(
        json!([{"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}]}, {"name": "b", "image": "b:1"}]),
    );
    let patch = json!({"spec": {"containers": [{"name": "b", "image": "b:2"}, {"name": "c", "image": "c:1"}]}});
    let got = strategic_merge_patch(pods(), &orig, &patch).expect("patch");
    assert_eq!(
        got["spec"]["containers"],
        json!([{"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}]}, {"name": "b", "image": "b:2"}, {"name": "c", "image": "c:1"}])
    );
    let env_patch = json!({"spec": {"containers": [{"name": "a", "env": [{"name": "Y", "value": "2"}, {"name": "X", "value": "3"}]}]}});
    let got = strategic_merge_patch(pods(), &orig, &env_patch).expect("patch");
    assert_eq!(
        got["spec"]["containers"][0]["env"],
        json!([{"name": "X", "value": "3"}, {"name": "Y", "value": "2"}])
    );
    assert_eq!(got["metadata"]["labels"], json!({"a": "1"}));
}

#[test]
fn strategic_patch_directives() {
    let orig = pod_with(
        json!([{"name": "a", "image": "a:1", "args": ["x", "y"]}, {"name": "b", "image": "b:1"}]),
    );
    // delete an element by merge key
    let del = json!({"spec": {"containers": [{"name": "a", "$patch": "delete"}]}});
    let got = strategic_merge_patch(pods(), &orig, &del).expect("delete");
    assert_eq!(
        got["spec"]["containers"],
        json!([{"name": "b", "image": "b:1"}])
    );
    // replace the whole list
    let rep = json!({"spec": {"containers": [{"name": "z", "image": "z"}, {"$patch": "replace"}]}});
    let got = strategic_merge_patch(pods(), &orig, &rep).expect("replace");
    assert_eq!(
        got["spec"]["containers"],
        json!([{"name": "z", "image": "z"}])
    );
    // replace a map
    let map_rep = json!({"metadata": {"labels": {"b": "2", "$patch": "replace"}}});
    let got = strategic_merge_patch(pods(), &orig, &map_rep).expect("map replace");
    assert_eq!(got["metadata"]["labels"], json!({"b": "2"}));
    // delete a map
    let map_del = json!({"metadata": {"labels": {"$patch": "delete"}}});
    let got = strategic_merge_patch(pods(), &orig, &map_del).expect("map delete");
    assert!(got["metadata"].get("labels").is_none());
    // null deletes a field; primitive lists without strategy are replaced
    let nul = json!({"spec": {"containers": [{"name": "a", "image": null, "args": ["z"]}]}});
    let got = strategic_merge_patch(pods(), &orig, &nul).expect("null");
    assert_eq!(
        got["spec"]["containers"][0],
        json!({"name": "a", "args": ["z"]})
    );
    // primitive list with merge strategy (finalizers) unions, $deleteFromPrimitiveList removes
    let fin =
        json!({"metadata": {"finalizers": ["y"], "$deleteFromPrimitiveList/finalizers": ["x"]}});
    let got = strategic_merge_patch(pods(), &orig, &fin).expect("finalizers");
    assert_eq!(got["metadata"]["finalizers"], json!(["y"]));
    let fin2 = json!({"metadata": {"finalizers": ["y", "x"]}});
    let got = strategic_merge_patch(pods(), &orig, &fin2).expect("finalizers union");
    assert_eq!(got["metadata"]["finalizers"], json!(["x", "y"]));
    // set element order
    let order = json!({"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}], "containers": [{"name": "a", "image": "a:2"}]}});
    let got = strategic_merge_patch(pods(), &orig, &order).expect("order");
    assert_eq!(got["spec"]["containers"][0]["name"], "b");
    assert_eq!(got["spec"]["containers"][1]["image"], "a:2");
    // retainKeys
    let d =
        json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}});
    let retain = json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}});
    let got = strategic_merge_patch(deployments(), &d, &retain).expect("retain");
    assert_eq!(got["spec"]["strategy"], json!({"type": "Recreate"}));
    // bad element
    let bad = json!({"spec": {"containers": [{"image": "x"}]}});
    assert!(matches!(
        strategic_merge_patch(pods(), &orig, &bad),
        Err(PatchError::Invalid(_))
    ));
    assert!(strategic_merge_patch(pods(), &orig, &json!([1])).is_err());
}

#[test]
fn strategic_ports_and_template() {
    let d = json!({"spec": {"replicas": 1, "selector": {"matchLabels": {"app": "a"}},
        "template": {"spec": {"containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 80}], "volumeMounts": [{"name": "v", "mountPath": "/v"}]}]}}}});
    let p = json!({"spec": {"replicas": 3, "selector": {"matchLabels": {"app": "b"}},
        "template": {"spec": {"containers": [{"name": "c", "ports": [{"containerPort": 443}], "volumeMounts": [{"mountPath": "/v", "readOnly": true}]}]}}}});
    let got = strategic_merge_patch(deployments(), &d, &p).expect("patch");
    assert_eq!(got["spec"]["replicas"], 3);
    assert_eq!(
        got["spec"]["selector"],
        json!({"matchLabels": {"app": "b"}})
    );
    let c = &got["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        c["ports"],
        json!([{"containerPort": 80}, {"containerPort": 443}])
    );
    assert_eq!(
        c["volumeMounts"],
        json!([{"name": "v", "mountPath": "/v", "readOnly": true}])
    );
    assert_eq!(c["image"], "i");
}

fn applied(replicas: i64, image: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "nginx", "image": image}]}}}})
}

fn managers(obj: &Value) -> Vec<(String, String)> {
    obj["metadata"]["managedFields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e["manager"].as_str().unwrap_or("").to_string(),
                        e["operation"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn ssa_create_records_field_set() {
    let obj = server_side_apply(
        deployments(),
        None,
        &applied(2, "nginx:1"),
        "kubectl",
        false,
    )
    .expect("apply");
    assert_eq!(obj["spec"]["replicas"], 2);
    assert_eq!(managers(&obj), vec![("kubectl".into(), "Apply".into())]);
    let mf = &obj["metadata"]["managedFields"][0];
    assert_eq!(mf["fieldsType"], "FieldsV1");
    assert_eq!(mf["apiVersion"], "apps/v1");
    assert_eq!(
        mf["fieldsV1"],
        json!({"f:spec": {"f:replicas": {}, "f:selector": {},
            "f:template": {"f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}})
    );
}

#[test]
fn ssa_conflicts_between_managers() {
    let live = server_side_apply(deployments(), None, &applied(2, "nginx:1"), "alice", false)
        .expect("alice");
    // same values: shared ownership, no conflict
    let shared = server_side_apply(
        deployments(),
        Some(&live),
        &applied(2, "nginx:1"),
        "bob",
        false,
    )
    .expect("bob same");
    assert_eq!(managers(&shared).len(), 2);
    // different values: conflicts listed per field
    let err = server_side_apply(
        deployments(),
        Some(&live),
        &applied(5, "nginx:2"),
        "bob",
        false,
    )
    .expect_err("conflict");
    match &err {
        PatchError::Conflict { conflicts } => {
            assert_eq!(
                conflicts,
                &vec![
                    "conflict with \"alice\" using apps/v1: .spec.replicas".to_string(),
                    "conflict with \"alice\" using apps/v1: .spec.template.spec.containers[name=\"nginx\"].image".to_string(),
                ]
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err
        .to_string()
        .starts_with("Apply failed with 2 conflicts: conflict with \"alice\""));
    // force takes ownership
    let forced = server_side_apply(
        deployments(),
        Some(&live),
        &applied(5, "nginx:2"),
        "bob",
        true,
    )
    .expect("force");
    assert_eq!(forced["spec"]["replicas"], 5);
    let alice = forced["metadata"]["managedFields"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["manager"] == "alice"))
        .cloned()
        .expect("alice");
    assert!(alice["fieldsV1"]["f:spec"].get("f:replicas").is_none());
    // the owner itself may change its fields
    let again = server_side_apply(
        deployments(),
        Some(&live),
        &applied(3, "nginx:1"),
        "alice",
        false,
    )
    .expect("owner");
    assert_eq!(again["spec"]["replicas"], 3);
}

#[test]
fn ssa_removes_fields_the_manager_dropped() {
    let mut with_label = applied(2, "nginx:1");
    with_label["metadata"]["labels"] = json!({"team": "a", "tier": "web"});
    let live = server_side_apply(deployments(), None, &with_label, "alice", false).expect("first");
    let mut fewer = applied(2, "nginx:1");
    fewer["metadata"]["labels"] = json!({"team": "a"});
    let next =
        server_side_apply(deployments(), Some(&live), &fewer, "alice", false).expect("second");
    assert_eq!(next["metadata"]["labels"], json!({"team": "a"}));
}

#[test]
fn update_operations_take_ownership() {
    let live = server_side_apply(deployments(), None, &applied(2, "nginx:1"), "alice", false)
        .expect("alice");
    let mut scaled = live.clone();
    scaled["spec"]["replicas"] = json!(4);
    let now = chrono::Utc::now();
    update_managed_fields(
        deployments(),
        Some(&live),
        &mut scaled,
        "kubectl-scale",
        None,
        now,
    );
    let m = managers(&scaled);
    assert!(m.contains(&("kubectl-scale".into(), "Update".into())));
    let err = server_side_apply(
        deployments(),
        Some(&scaled),
        &applied(2, "nginx:1"),
        "alice",
        false,
    )
    .expect_err("conflict");
    assert_eq!(
        err,
        PatchError::Conflict {
            conflicts: vec!["conflict with \"kubectl-scale\" using apps/v1: .spec.replicas".into()]
        }
    );
    let mut created = applied(1, "x");
    update_managed_fields(
        deployments(),
        None,
        &mut created,
        "kubectl-create",
        None,
        now,
    );
    assert_eq!(
        managers(&created),
        vec![("kubectl-create".into(), "Update".into())]
    );
}
