//! Table-driven tests of validation causes and messages against upstream's wording.

use serde_json::{json, Value};

use super::*;
use crate::defaults::apply_defaults;
use crate::registry::find_resource;

fn res(group: &str, plural: &str) -> &'static ResourceInfo {
    find_resource(group, "v1", plural).expect("resource")
}

fn create(group: &str, plural: &str, mut obj: Value) -> Vec<(String, String, String)> {
    let r = res(group, plural);
    apply_defaults(r, &mut obj);
    validate_create(r, &obj)
        .into_iter()
        .map(|c| (c.reason, c.field, c.message))
        .collect()
}

fn one(reason: &str, field: &str, message: &str) -> Vec<(String, String, String)> {
    vec![(reason.to_string(), field.to_string(), message.to_string())]
}

fn pod(spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"}, "spec": spec})
}

fn deploy(spec: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "default"}, "spec": spec})
}

const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

#[test]
fn valid_objects_pass() {
    assert!(create("", "pods", pod(json!({"containers": [{"name": "c", "image": "nginx", "ports": [{"containerPort": 80}]}]}))).is_empty());
    let d = deploy(
        json!({"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}}),
    );
    assert!(create("apps", "deployments", d).is_empty());
    let svc = json!({"metadata": {"name": "web", "namespace": "default"}, "spec": {"ports": [{"port": 80}], "selector": {"app": "web"}}});
    assert!(create("", "services", svc).is_empty());
    assert!(create("", "namespaces", json!({"metadata": {"name": "team-a"}})).is_empty());
    assert!(create(
        "",
        "configmaps",
        json!({"metadata": {"name": "c", "namespace": "x"}, "data": {"a.b": "1"}})
    )
    .is_empty());
    assert!(create("", "nodes", json!({"metadata": {"name": "node-1.example"}})).is_empty());
}

#[test]
fn name_messages() {
    assert_eq!(
        create(
            "",
            "pods",
            json!({"metadata": {"namespace": "default"}, "spec": {"containers": [{"name": "c", "image": "i"}]}})
        ),
        one(
            "FieldValueRequired",
            "metadata.name",
            "Required value: name or generateName is required"
        )
    );
    assert_eq!(
        create(
            "",
            "pods",
            json!({"metadata": {"name": "Bad_Name", "namespace": "default"}, "spec": {"containers": [{"name": "c", "image": "i"}]}})
        ),
        one(
            "FieldValueInvalid",
            "metadata.name",
            &format!("Invalid value: \"Bad_Name\": {SUBDOMAIN_MSG}")
        )
    );
    assert_eq!(
        create("", "namespaces", json!({"metadata": {"name": "a.b"}})),
        one(
            "FieldValueInvalid",
            "metadata.name",
            &format!("Invalid value: \"a.b\": {LABEL_MSG}")
        )
    );
    let svc = create(
        "",
        "services",
        json!({"metadata": {"name": "1web", "namespace": "default"}, "spec": {"ports": [{"port": 80}]}}),
    );
    assert_eq!(svc[0].1, "metadata.name");
    assert!(svc[0].2.contains("a DNS-1035 label must consist of"));
    assert_eq!(
        create(
            "",
            "pods",
            json!({"metadata": {"generateName": "Web-", "namespace": "default"}, "spec": {"containers": [{"name": "c", "image": "i"}]}})
        ),
        one(
            "FieldValueInvalid",
            "metadata.generateName",
            &format!("Invalid value: \"Web-\": {SUBDOMAIN_MSG}")
        )
    );
    assert!(create("", "pods", json!({"metadata": {"generateName": "web-", "namespace": "default"}, "spec": {"containers": [{"name": "c", "image": "i"}]}})).is_empty());
    assert_eq!(
        create(
            "",
            "nodes",
            json!({"metadata": {"name": "n", "namespace": "x"}})
        ),
        one(
            "FieldValueForbidden",
            "metadata.namespace",
            "Forbidden: not allowed on this type"
        )
    );
}

#[test]
fn label_and_annotation_messages() {
    let p = json!({"metadata": {"name": "p", "namespace": "d", "labels": {"app": "-bad", "a/b/c": "x"}, "annotations": {"/x": "y"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}});
    let errs = create("", "pods", p);
    assert!(errs.contains(&(
        "FieldValueInvalid".into(),
        "metadata.labels[app]".into(),
        "Invalid value: \"-bad\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')".into()
    )), "{errs:?}");
    assert!(errs.iter().any(|e| e.1 == "metadata.labels"
        && e.2
            .starts_with("Invalid value: \"a/b/c\": a qualified name must consist of")));
    assert!(errs.contains(&(
        "FieldValueInvalid".into(),
        "metadata.annotations".into(),
        "Invalid value: \"/x\": prefix part must be non-empty".into()
    )));
}

#[test]
fn pod_spec_messages() {
    struct Case(
        &'static str,
        Value,
        &'static str,
        &'static str,
        &'static str,
    );
    let cases = vec![
        Case("no containers", json!({"containers": []}), "FieldValueRequired", "spec.containers", "Required value"),
        Case("no name", json!({"containers": [{"image": "i"}]}), "FieldValueRequired", "spec.containers[0].name", "Required value"),
        Case("no image", json!({"containers": [{"name": "c"}]}), "FieldValueRequired", "spec.containers[0].image", "Required value"),
        Case("bad container name", json!({"containers": [{"name": "C", "image": "i"}]}), "FieldValueInvalid", "spec.containers[0].name", "Invalid value: \"C\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"),
        Case("duplicate", json!({"containers": [{"name": "c", "image": "i"}, {"name": "c", "image": "j"}]}), "FieldValueDuplicate", "spec.containers[1].name", "Duplicate value: \"c\""),
        Case("init duplicate", json!({"initContainers": [{"name": "c", "image": "i"}], "containers": [{"name": "c", "image": "j"}]}), "FieldValueDuplicate", "spec.initContainers[0].name", "Duplicate value: \"c\""),
        Case("port range", json!({"containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 70000}]}]}), "FieldValueInvalid", "spec.containers[0].ports[0].containerPort", "Invalid value: 70000: must be between 1 and 65535, inclusive"),
        Case("port zero", json!({"containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 0}]}]}), "FieldValueRequired", "spec.containers[0].ports[0].containerPort", "Required value"),
        Case("host port", json!({"containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 80, "hostPort": -1}]}]}), "FieldValueInvalid", "spec.containers[0].ports[0].hostPort", "Invalid value: -1: must be between 1 and 65535, inclusive"),
        Case("protocol", json!({"containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 80, "protocol": "HTTP"}]}]}), "FieldValueNotSupported", "spec.containers[0].ports[0].protocol", "Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\""),
        Case("restart policy", json!({"restartPolicy": "Sometimes", "containers": [{"name": "c", "image": "i"}]}), "FieldValueNotSupported", "spec.restartPolicy", "Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\""),
        Case("dns policy", json!({"dnsPolicy": "X", "containers": [{"name": "c", "image": "i"}]}), "FieldValueNotSupported", "spec.dnsPolicy", "Unsupported value: \"X\": supported values: \"ClusterFirst\", \"ClusterFirstWithHostNet\", \"Default\", \"None\""),
        Case("pull policy", json!({"containers": [{"name": "c", "image": "i", "imagePullPolicy": "X"}]}), "FieldValueNotSupported", "spec.containers[0].imagePullPolicy", "Unsupported value: \"X\": supported values: \"Always\", \"IfNotPresent\", \"Never\""),
        Case("mount of unknown volume", json!({"containers": [{"name": "c", "image": "i", "volumeMounts": [{"name": "v", "mountPath": "/v"}]}]}), "FieldValueNotFound", "spec.containers[0].volumeMounts[0].name", "Not found: \"v\""),
        Case("env name", json!({"containers": [{"name": "c", "image": "i", "env": [{"value": "x"}]}]}), "FieldValueRequired", "spec.containers[0].env[0].name", "Required value"),
        Case("port name", json!({"containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 80, "name": "80"}]}]}), "FieldValueInvalid", "spec.containers[0].ports[0].name", "Invalid value: \"80\": must contain at least one letter (a-z)"),
    ];
    for c in cases {
        assert_eq!(create("", "pods", pod(c.1)), one(c.2, c.3, c.4), "{}", c.0);
    }
}

#[test]
fn deployment_messages() {
    let tmpl = json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}});
    assert_eq!(
        create("apps", "deployments", deploy(json!({"template": tmpl}))),
        vec![
            ("FieldValueRequired".into(), "spec.selector".into(), "Required value".into()),
            ("FieldValueInvalid".into(), "spec.template.metadata.labels".into(), "Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`".into()),
        ]
    );
    assert_eq!(
        create("apps", "deployments", deploy(json!({"selector": {"matchLabels": {"app": "other"}}, "template": tmpl}))),
        one("FieldValueInvalid", "spec.template.metadata.labels", "Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`")
    );
    assert_eq!(
        create(
            "apps",
            "deployments",
            deploy(
                json!({"replicas": -1, "selector": {"matchLabels": {"app": "web"}}, "template": tmpl})
            )
        ),
        one(
            "FieldValueInvalid",
            "spec.replicas",
            "Invalid value: -1: must be greater than or equal to 0"
        )
    );
    let never = json!({"metadata": {"labels": {"app": "web"}}, "spec": {"restartPolicy": "Never", "containers": [{"name": "nginx", "image": "nginx"}]}});
    assert_eq!(
        create(
            "apps",
            "deployments",
            deploy(json!({"selector": {"matchLabels": {"app": "web"}}, "template": never}))
        ),
        one(
            "FieldValueNotSupported",
            "spec.template.spec.restartPolicy",
            "Unsupported value: \"Never\": supported values: \"Always\""
        )
    );
    let noimage = json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "nginx"}]}});
    assert_eq!(
        create(
            "apps",
            "deployments",
            deploy(json!({"selector": {"matchLabels": {"app": "web"}}, "template": noimage}))
        ),
        one(
            "FieldValueRequired",
            "spec.template.spec.containers[0].image",
            "Required value"
        )
    );
    let empty_sel = create(
        "apps",
        "deployments",
        deploy(json!({"selector": {}, "template": tmpl})),
    );
    assert_eq!(empty_sel.len(), 1);
    assert!(
        empty_sel[0]
            .2
            .ends_with("empty selector is invalid for deployment"),
        "{empty_sel:?}"
    );
    let rs = json!({"metadata": {"name": "r", "namespace": "d"}, "spec": {"replicas": -2, "selector": {"matchLabels": {"app": "web"}}, "template": tmpl}});
    assert_eq!(
        create("apps", "replicasets", rs),
        one(
            "FieldValueInvalid",
            "spec.replicas",
            "Invalid value: -2: must be greater than or equal to 0"
        )
    );
}

#[test]
fn service_and_data_messages() {
    let svc = |spec: Value| json!({"metadata": {"name": "s", "namespace": "d"}, "spec": spec});
    assert_eq!(
        create("", "services", svc(json!({}))),
        one("FieldValueRequired", "spec.ports", "Required value")
    );
    assert_eq!(
        create(
            "",
            "services",
            svc(json!({"ports": [{"port": 80}, {"port": 81, "name": "b"}]}))
        ),
        one("FieldValueRequired", "spec.ports[0].name", "Required value")
    );
    assert_eq!(
        create("", "services", svc(json!({"type": "Foo", "ports": [{"port": 80}]}))),
        one("FieldValueNotSupported", "spec.type", "Unsupported value: \"Foo\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"")
    );
    assert_eq!(
        create("", "services", svc(json!({"ports": [{"port": 0}]}))),
        vec![
            (
                "FieldValueInvalid".into(),
                "spec.ports[0].port".into(),
                "Invalid value: 0: must be between 1 and 65535, inclusive".into()
            ),
            (
                "FieldValueInvalid".into(),
                "spec.ports[0].targetPort".into(),
                "Invalid value: 0: must be between 1 and 65535, inclusive".into()
            ),
        ]
    );
    let cm = json!({"metadata": {"name": "c", "namespace": "d"}, "data": {"a/b": "x"}});
    let errs = create("", "configmaps", cm);
    assert_eq!(errs[0].1, "data");
    assert!(errs[0].2.starts_with("Invalid value: \"a/b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"));
    let lease =
        json!({"metadata": {"name": "l", "namespace": "d"}, "spec": {"leaseDurationSeconds": 0}});
    assert_eq!(
        create("coordination.k8s.io", "leases", lease),
        one(
            "FieldValueInvalid",
            "spec.leaseDurationSeconds",
            "Invalid value: 0: must be greater than 0"
        )
    );
}

fn update(
    group: &str,
    plural: &str,
    mut new: Value,
    mut old: Value,
) -> Vec<(String, String, String)> {
    let r = res(group, plural);
    apply_defaults(r, &mut new);
    apply_defaults(r, &mut old);
    validate_update(r, &new, &old)
        .into_iter()
        .map(|c| (c.reason, c.field, c.message))
        .collect()
}

#[test]
fn update_rules() {
    let old = pod(json!({"containers": [{"name": "c", "image": "nginx:1"}]}));
    let mut new_image = old.clone();
    new_image["spec"]["containers"][0]["image"] = json!("nginx:2");
    assert!(update("", "pods", new_image, old.clone()).is_empty());
    let mut new_port = old.clone();
    new_port["spec"]["containers"][0]["ports"] = json!([{"containerPort": 80}]);
    let errs = update("", "pods", new_port, old.clone());
    assert_eq!(errs.len(), 1);
    assert_eq!(
        (errs[0].0.as_str(), errs[0].1.as_str()),
        ("FieldValueForbidden", "spec")
    );
    assert!(errs[0].2.starts_with(
        "Forbidden: pod updates may not change fields other than `spec.containers[*].image`"
    ));
    let mut added_toleration = old.clone();
    apply_defaults(res("", "pods"), &mut added_toleration);
    if let Some(t) = added_toleration["spec"]["tolerations"].as_array_mut() {
        t.push(json!({"key": "x", "operator": "Exists"}));
    }
    assert!(update("", "pods", added_toleration, old.clone()).is_empty());
    let mut renamed = old.clone();
    renamed["metadata"]["name"] = json!("q");
    assert_eq!(
        update("", "pods", renamed, old),
        one(
            "FieldValueInvalid",
            "metadata.name",
            "Invalid value: \"q\": field is immutable"
        )
    );

    let tmpl = json!({"metadata": {"labels": {"app": "web", "v": "1"}}, "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}});
    let d_old = deploy(json!({"selector": {"matchLabels": {"app": "web"}}, "template": tmpl}));
    let mut d_new = d_old.clone();
    d_new["spec"]["selector"] = json!({"matchLabels": {"app": "web", "v": "1"}});
    let errs = update("apps", "deployments", d_new, d_old.clone());
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].1, "spec.selector");
    assert_eq!(
        errs[0].2,
        "Invalid value: &v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web\", \"v\":\"1\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"
    );
    let mut scaled = d_old.clone();
    scaled["spec"]["replicas"] = json!(5);
    assert!(update("apps", "deployments", scaled, d_old).is_empty());
}

#[test]
fn invalid_status_message() {
    let causes = validate_create(
        res("", "pods"),
        &pod(json!({"containers": [{"name": "c"}]})),
    );
    let msg = invalid_message("Pod", "p", &causes);
    assert!(msg.starts_with("Pod \"p\" is invalid: ["), "{msg}");
    let one_cause = vec![causes
        .iter()
        .find(|c| c.field == "spec.containers[0].image")
        .cloned()
        .expect("image")];
    assert_eq!(
        invalid_message("Pod", "p", &one_cause),
        "Pod \"p\" is invalid: spec.containers[0].image: Required value"
    );
}

#[test]
fn strict_fields() {
    let d = res("apps", "deployments");
    let obj = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "foo": 1, "labels": {"a": "b"}},
        "spec": {"replicas": 1, "bogus": true, "selector": {"matchLabels": {"a": "b"}},
            "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i", "imagePullPolicy": null, "colour": "red"}]}}}});
    let mut got = strict_unknown_fields(d, &obj);
    got.sort();
    assert_eq!(
        got,
        vec![
            "metadata.foo".to_string(),
            "spec.bogus".to_string(),
            "spec.template.spec.containers[0].colour".to_string(),
        ]
    );
    let p = res("", "pods");
    let ok = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i", "resources": {}, "securityContext": {}}], "volumes": [{"name": "v", "emptyDir": {}}]}});
    assert!(strict_unknown_fields(p, &ok).is_empty());
}
