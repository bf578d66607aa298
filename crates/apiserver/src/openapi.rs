//! A minimal OpenAPI v3 document set: enough for kubectl to see that every resource
//! accepts `fieldValidation` (so it validates on the server) and for client-side
//! apply to fall back to its built-in patch metadata.

use crate::resources::all_resources;
use serde_json::{json, Map, Value};

const HASH: &str = "skiff-v1-33-0";

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `/openapi/v3`: the index of group-version documents.
pub fn root() -> Value {
    let mut paths = Map::new();
    for r in all_resources() {
        let p = gv_path(r.group, r.version);
        paths.entry(p.clone()).or_insert_with(
            || json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={HASH}")}),
        );
    }
    json!({"paths": paths})
}

fn param(name: &str) -> Value {
    json!({"name": name, "in": "query", "description": name, "schema": {"type": "string", "uniqueItems": true}})
}

/// `/openapi/v3/<gv path>`: patch/post/put operations per resource.
pub fn group_version(path: &str) -> Option<Value> {
    let mut paths = Map::new();
    for r in all_resources()
        .iter()
        .filter(|r| gv_path(r.group, r.version) == path)
    {
        let gvk = json!({"group": r.group, "version": r.version, "kind": r.kind});
        let base = if r.namespaced {
            format!("/{path}/namespaces/{{namespace}}/{}", r.plural)
        } else {
            format!("/{path}/{}", r.plural)
        };
        let params = vec![
            param("dryRun"),
            param("fieldManager"),
            param("fieldValidation"),
        ];
        let op = |action: &str| {
            json!({
                "operationId": format!("{action}{}", r.kind),
                "parameters": params,
                "responses": {"200": {"description": "OK"}},
                "x-kubernetes-action": action,
                "x-kubernetes-group-version-kind": gvk,
            })
        };
        paths.insert(base.clone(), json!({"post": op("post")}));
        paths.insert(
            format!("{base}/{{name}}"),
            json!({"put": op("put"), "patch": op("patch")}),
        );
    }
    if paths.is_empty() {
        return None;
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.33.0"},
        "paths": paths,
        "components": {"schemas": {}},
    }))
}

/// kubectl ≤ 1.28 asks `/openapi/v2` for `application/com.github.proto-openapi.spec.v2@v1.0+protobuf`
/// (gnostic's protobuf Document); upstream answers with this content type (`@` is not
/// valid in a MIME subtype, and Go's `mime` parser rejects it).
pub const V2_PROTOBUF_RESPONSE: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// `/openapi/v2` as JSON: a valid Swagger 2.0 document without models. kubectl then
/// skips client-side schema validation (unknown models are not checked) and builds
/// strategic merge patches from its compiled-in types, as it does for any kind the
/// document lacks.
pub fn v2_json() -> Value {
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": "v1.33.0"},
        "paths": {},
        "definitions": {},
    })
}

/// The same document as a protobuf `openapi.v2.Document`: field 1 `swagger`,
/// field 2 `info` (field 1 `title`, field 2 `version`).
pub fn v2_protobuf() -> Vec<u8> {
    fn string_field(out: &mut Vec<u8>, field: u8, s: &str) {
        out.push(field << 3 | 2);
        varint(out, s.len());
        out.extend_from_slice(s.as_bytes());
    }
    fn varint(out: &mut Vec<u8>, mut n: usize) {
        while n >= 0x80 {
            out.push((n as u8) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
    }
    let mut info = Vec::new();
    string_field(&mut info, 1, "Kubernetes");
    string_field(&mut info, 2, "v1.33.0");
    let mut doc = Vec::new();
    string_field(&mut doc, 1, "2.0");
    doc.push(2 << 3 | 2);
    varint(&mut doc, info.len());
    doc.extend_from_slice(&info);
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apps_doc_has_patch_with_field_validation() {
        let d = group_version("apis/apps/v1").expect("apps");
        let p = &d["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
        assert_eq!(p["x-kubernetes-group-version-kind"]["kind"], "Deployment");
        assert!(root()["paths"]["api/v1"]["serverRelativeURL"]
            .as_str()
            .is_some());
    }

    #[test]
    fn v2_protobuf_bytes() {
        let b = v2_protobuf();
        assert_eq!(&b[..5], b"\x0a\x032.0");
        assert_eq!(b[5], 0x12);
        assert_eq!(b[6] as usize, b.len() - 7);
    }
}
