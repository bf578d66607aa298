//! The OpenAPI documents: `/openapi/v3` (an index of group-versions) and one v3 document
//! per group-version with the patch/post/put operations of every resource (each accepts
//! `fieldValidation`, so kubectl validates on the server) and the component schemas of
//! the served kinds (field descriptions for `kubectl explain`, group-version-kinds and
//! the strategic-merge metadata kubectl's client-side apply reads). The schemas are
//! generated once from k8s-openapi by `crates/apiserver/openapi-gen` and compiled in
//! compressed; `/openapi/v2` stays a model-less Swagger document for old kubectls.

use crate::resources::all_resources;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::io::Read;
use std::sync::OnceLock;

/// `{"api/v1": {NAME: SCHEMA, …}, …}`, gzip-compressed (see `openapi-gen`).
static SCHEMAS_GZ: &[u8] = include_bytes!("../assets/openapi-v3-schemas.json.gz");

/// The component schemas per group-version path, decompressed on first use.
fn schemas() -> &'static BTreeMap<String, Value> {
    static CELL: OnceLock<BTreeMap<String, Value>> = OnceLock::new();
    CELL.get_or_init(|| {
        let mut text = Vec::new();
        let read = flate2::read::GzDecoder::new(SCHEMAS_GZ).read_to_end(&mut text);
        match read.map_err(|e| e.to_string()).and_then(|_| {
            serde_json::from_slice::<BTreeMap<String, Value>>(&text).map_err(|e| e.to_string())
        }) {
            Ok(m) => m,
            Err(e) => {
                tracing::error!("compiled-in OpenAPI schemas are unreadable: {e}");
                BTreeMap::new()
            }
        }
    })
}

/// The documents, built once: their content never changes while the server runs.
fn documents() -> &'static BTreeMap<String, (Value, String)> {
    static CELL: OnceLock<BTreeMap<String, (Value, String)>> = OnceLock::new();
    CELL.get_or_init(|| {
        let mut docs = BTreeMap::new();
        for r in all_resources() {
            let p = gv_path(r.group, r.version);
            if docs.contains_key(&p) {
                continue;
            }
            if let Some(d) = build_group_version(&p) {
                // a content hash: kubectl caches documents by their URL
                let mut h = std::collections::hash_map::DefaultHasher::new();
                d.to_string().hash(&mut h);
                let hash = format!("{:016X}", h.finish());
                docs.insert(p, (d, hash));
            }
        }
        docs
    })
}

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
    for (p, (_, hash)) in documents() {
        paths.insert(
            p.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={hash}")}),
        );
    }
    json!({"paths": paths})
}

fn param(name: &str) -> Value {
    json!({"name": name, "in": "query", "description": name, "schema": {"type": "string", "uniqueItems": true}})
}

/// `/openapi/v3/<gv path>`: operations per resource and the component schemas.
pub fn group_version(path: &str) -> Option<Value> {
    documents().get(path).map(|(d, _)| d.clone())
}

fn build_group_version(path: &str) -> Option<Value> {
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
        "components": {"schemas": schemas().get(path).cloned().unwrap_or_else(|| json!({}))},
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
    fn schemas_describe_served_kinds() {
        let d = group_version("apis/apps/v1").expect("apps");
        let s = &d["components"]["schemas"];
        let dep = &s["io.k8s.api.apps.v1.Deployment"];
        assert_eq!(
            dep["x-kubernetes-group-version-kind"][0]["kind"],
            "Deployment"
        );
        let replicas = &s["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["replicas"];
        assert_eq!(replicas["type"], "integer");
        assert!(replicas["description"]
            .as_str()
            .is_some_and(|t| t.contains("desired pods")));
        let core = group_version("api/v1").expect("core");
        let containers = &core["components"]["schemas"]["io.k8s.api.core.v1.PodSpec"]["properties"]
            ["containers"];
        assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
        for r in all_resources() {
            let doc = group_version(&gv_path(r.group, r.version)).expect("doc");
            let found = doc["components"]["schemas"]
                .as_object()
                .into_iter()
                .flatten()
                .any(|(_, v)| v["x-kubernetes-group-version-kind"][0]["kind"] == r.kind);
            assert!(found, "no schema for {}", r.kind);
        }
    }

    #[test]
    fn v2_protobuf_bytes() {
        let b = v2_protobuf();
        assert_eq!(&b[..5], b"\x0a\x032.0");
        assert_eq!(b[5], 0x12);
        assert_eq!(b[6] as usize, b.len() - 7);
    }
}
