//! Fixture tests: bodies captured from real kubectl 1.33 (protobuf) compared with the JSON
//! kubectl 1.30 sent for the same commands, plus hand-encoded bodies for kinds kubectl does
//! not create directly (see `testdata/README.md`).

use serde_json::{json, Value};

use super::{decode_protobuf_object, is_protobuf_content_type, ProtobufError};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/src/protobuf/testdata/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn expected(name: &str) -> Value {
    serde_json::from_slice(&fixture(&format!("{name}.json"))).unwrap()
}

/// Go writes nil pointers and slices without omitempty as `null`; protobuf cannot carry them,
/// and a JSON client may leave them out, so they are not part of the comparison.
fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

fn check(name: &str) -> Value {
    let decoded = decode_protobuf_object(&fixture(&format!("{name}.pb")))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        without_nulls(decoded.clone()),
        without_nulls(expected(name)),
        "{name}: decoded {decoded}"
    );
    decoded
}

#[test]
fn kubectl_create_deployment_matches_its_json() {
    let web = check("deployment_web");
    // The zero metav1.Time travels as an empty message: Go's JSON has it as null.
    assert_eq!(web["metadata"]["creationTimestamp"], Value::Null);
    assert!(web["metadata"].get("creationTimestamp").is_some());
    assert!(
        web["metadata"].get("namespace").is_none(),
        "empty strings are omitted"
    );
    check("deployment_replicas_port");
    let zero = check("deployment_zero_replicas");
    assert_eq!(
        zero["spec"]["replicas"],
        json!(0),
        "a pointer keeps its zero"
    );
}

#[test]
fn kubectl_create_core_kinds_match_their_json() {
    check("namespace");
    let cm = check("configmap");
    assert_eq!(
        cm["data"]["empty"],
        json!(""),
        "map values keep empty strings"
    );
    let secret = check("secret_binary");
    assert_eq!(secret["data"]["blob"], json!("AAEC//5iaW5hcnk="));
    check("serviceaccount");
    check("resourcequota");
}

#[test]
fn kubectl_create_service_matches_its_json() {
    let s = check("service_clusterip");
    assert_eq!(s["spec"]["ports"][0]["targetPort"], json!(8080));
    let named = check("service_named_port");
    assert_eq!(named["spec"]["ports"][0]["targetPort"], json!("dns"));
    check("service_nodeport");
}

#[test]
fn kubectl_subresource_and_review_bodies_match_their_json() {
    let token = check("tokenrequest");
    assert_eq!(
        token["status"]["token"],
        json!(""),
        "no omitempty keeps the zero"
    );
    let review = check("selfsubjectaccessreview");
    assert_eq!(review["status"]["allowed"], json!(false));
    let pdb = check("poddisruptionbudget");
    assert_eq!(pdb["spec"]["minAvailable"], json!(1));
}

/// Hand-encoded (protoc --encode, Go's field presence) bodies compared exactly, nulls included.
fn check_exact(name: &str) -> Value {
    let decoded = decode_protobuf_object(&fixture(&format!("{name}.pb")))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(decoded, expected(name), "{name}: decoded {decoded}");
    decoded
}

#[test]
fn lease_keeps_microseconds_pointers_and_managed_fields() {
    let lease = check_exact("lease");
    assert_eq!(
        lease["spec"]["renewTime"],
        json!("2024-01-02T03:04:05.123456Z")
    );
}

#[test]
fn events_of_both_groups() {
    let core = check_exact("event_core");
    assert_eq!(core["eventTime"], Value::Null);
    check_exact("event_events");
}

#[test]
fn eviction_scale_and_delete_options() {
    check_exact("eviction");
    check_exact("scale");
    check_exact("deleteoptions");
}

#[test]
fn pod_flattens_inlined_structs_and_keeps_pointer_zeros() {
    let pod = check_exact("pod");
    assert_eq!(pod["spec"]["volumes"][0]["configMap"]["name"], json!("cm"));
    assert_eq!(
        pod["spec"]["containers"][0]["livenessProbe"]["httpGet"]["port"],
        json!("http")
    );
}

#[test]
fn raw_extensions_wrappers_and_meta_kinds() {
    check_exact("controllerrevision");
    check_exact("subjectaccessreview");
    check_exact("apiresourcelist");
}

#[test]
fn kinds_outside_the_schema_are_named_in_the_error() {
    let err = decode_protobuf_object(&fixture("priorityclass.pb")).unwrap_err();
    assert!(
        matches!(&err, ProtobufError::UnknownKind { api_version, kind }
            if api_version == "scheduling.k8s.io/v1" && kind == "PriorityClass"),
        "{err}"
    );
}

#[test]
fn malformed_bodies_are_errors() {
    assert!(matches!(
        decode_protobuf_object(b"{\"kind\":\"Pod\"}"),
        Err(ProtobufError::MissingMagic)
    ));
    assert!(matches!(
        decode_protobuf_object(b"k8s\x00\x0a\xff"),
        Err(ProtobufError::Envelope(_))
    ));
    assert!(matches!(
        decode_protobuf_object(b"k8s\x00"),
        Err(ProtobufError::MissingTypeMeta)
    ));
    let mut truncated = fixture("deployment_web.pb");
    truncated.truncate(truncated.len() - 20);
    assert!(decode_protobuf_object(&truncated).is_err());
}

#[test]
fn content_types() {
    assert!(is_protobuf_content_type(
        "application/vnd.kubernetes.protobuf"
    ));
    assert!(is_protobuf_content_type(
        "application/vnd.kubernetes.protobuf; charset=utf-8"
    ));
    assert!(!is_protobuf_content_type("application/json"));
}
