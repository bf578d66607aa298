//! Patches applied on the client for `--dry-run=client` and `--local`: JSON merge patch,
//! strategic merge patch (the API crate's merge keys) and JSON patch (RFC 6902).

use serde_json::Value;

/// Why a patch could not be applied locally.
#[derive(Debug, thiserror::Error)]
pub enum LocalPatchError {
    /// A strategic merge patch failed.
    #[error("{0}")]
    Strategic(String),
    /// A JSON patch was malformed or did not apply.
    #[error("{0}")]
    Json(String),
}

/// Applies an RFC 7386 merge patch in place.
pub fn merge(target: &mut Value, patch: &Value) {
    skiff_api::patch::json_merge_patch(target, patch);
}

/// Applies a strategic merge patch to `obj`; kinds without merge metadata merge as
/// JSON merge patches do.
pub fn strategic(obj: &Value, patch: &Value) -> Result<Value, LocalPatchError> {
    let av = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    match skiff_api::registry::find_api_version_kind(av, kind) {
        Some(res) => skiff_api::patch::strategic_merge_patch(res, obj, patch)
            .map_err(|e| LocalPatchError::Strategic(e.to_string())),
        None => {
            let mut out = obj.clone();
            merge(&mut out, patch);
            Ok(out)
        }
    }
}

/// Applies an RFC 6902 JSON patch.
pub fn json(obj: &Value, patch: &Value) -> Result<Value, LocalPatchError> {
    let ops: json_patch::Patch =
        serde_json::from_value(patch.clone()).map_err(|e| LocalPatchError::Json(e.to_string()))?;
    let mut out = obj.clone();
    json_patch::patch(&mut out, &ops).map_err(|e| LocalPatchError::Json(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn three_kinds() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "b"}},
            "spec": {"containers": [{"name": "c", "image": "x"}, {"name": "d", "image": "y"}]}});
        let mut m = pod.clone();
        merge(
            &mut m,
            &json!({"metadata": {"labels": {"a": null, "x": "1"}}}),
        );
        assert_eq!(m["metadata"]["labels"], json!({"x": "1"}));
        let s = strategic(
            &pod,
            &json!({"spec": {"containers": [{"name": "d", "image": "z"}]}}),
        )
        .unwrap_or_default();
        assert_eq!(s["spec"]["containers"][1]["image"], "z");
        assert_eq!(s["spec"]["containers"][0]["image"], "x");
        let j = json(
            &pod,
            &json!([{"op": "replace", "path": "/metadata/name", "value": "q"}]),
        )
        .unwrap_or_default();
        assert_eq!(j["metadata"]["name"], "q");
    }
}
