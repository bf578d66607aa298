//! Subresources that act on stored objects: scale, binding, eviction.

use super::delete::{delete_named, DeleteOpts};
use super::update::{update_with, Mode};
use super::{render, Ctx};
use crate::httputil::{content_type, json_response, Resp};
use crate::objects::meta_str;
use crate::resources::json_merge_patch;
use crate::status::{ApiError, ApiResult};
use serde_json::{json, Value};

fn selector_string(obj: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(m) = obj
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
    {
        let mut kv: Vec<_> = m.iter().collect();
        kv.sort_by(|a, b| a.0.cmp(b.0));
        for (k, v) in kv {
            parts.push(format!("{k}={}", v.as_str().unwrap_or("")));
        }
    }
    if let Some(es) = obj
        .pointer("/spec/selector/matchExpressions")
        .and_then(Value::as_array)
    {
        for e in es {
            let key = e["key"].as_str().unwrap_or("");
            let vals: Vec<&str> = e["values"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            match e["operator"].as_str().unwrap_or("") {
                "In" => parts.push(format!("{key} in ({})", vals.join(","))),
                "NotIn" => parts.push(format!("{key} notin ({})", vals.join(","))),
                "Exists" => parts.push(key.to_string()),
                "DoesNotExist" => parts.push(format!("!{key}")),
                _ => {}
            }
        }
    }
    parts.join(",")
}

/// The autoscaling/v1 Scale of an object.
fn scale_of(obj: &Value) -> Value {
    let m = obj.get("metadata").cloned().unwrap_or(json!({}));
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": m.get("name"), "namespace": m.get("namespace"), "uid": m.get("uid"),
            "resourceVersion": m.get("resourceVersion"), "creationTimestamp": m.get("creationTimestamp"),
        },
        "spec": {"replicas": obj.pointer("/spec/replicas").cloned().unwrap_or(json!(0))},
        "status": {
            "replicas": obj.pointer("/status/replicas").cloned().unwrap_or(json!(0)),
            "selector": selector_string(obj),
        },
    })
}

/// GET …/scale.
pub async fn get_scale(ctx: &Ctx) -> ApiResult<Resp> {
    let (_, obj) = ctx.load().await?;
    Ok(json_response(200, &scale_of(&obj)))
}

async fn set_replicas(ctx: &Ctx, scale_rv: Option<String>, replicas: Value) -> ApiResult<Resp> {
    if !replicas.is_i64() || replicas.as_i64().unwrap_or(-1) < 0 {
        return Err(ApiError::new(422, "Invalid", format!("Scale.autoscaling \"{}\" is invalid: spec.replicas: Invalid value: {replicas}: must be greater than or equal to 0", ctx.name())));
    }
    let obj = update_with(ctx, Mode::Main, |old| {
        if let Some(rv) = &scale_rv {
            if Some(rv.as_str()) != meta_str(old, "resourceVersion") {
                return Err(ApiError::conflict_modified(
                    ctx.res.group,
                    ctx.res.plural,
                    ctx.name(),
                ));
            }
        }
        let mut new = old.clone();
        new["spec"]["replicas"] = replicas.clone();
        Ok(new)
    })
    .await?;
    Ok(json_response(200, &scale_of(&obj)))
}

/// PUT …/scale.
pub async fn put_scale(ctx: &Ctx, body: Value) -> ApiResult<Resp> {
    let rv = meta_str(&body, "resourceVersion")
        .filter(|s| !s.is_empty())
        .map(String::from);
    set_replicas(
        ctx,
        rv,
        body.pointer("/spec/replicas").cloned().unwrap_or(json!(0)),
    )
    .await
}

/// PATCH …/scale (merge, strategic or JSON patch on the Scale object).
pub async fn patch_scale(ctx: &Ctx, body: &[u8]) -> ApiResult<Resp> {
    let (_, obj) = ctx.load().await?;
    let mut scale = scale_of(&obj);
    let ct = content_type(&ctx.headers);
    let bad = |e: String| ApiError::bad_request(format!("error decoding patch: {e}"));
    if ct == "application/json-patch+json" {
        let p: json_patch::Patch = serde_json::from_slice(body).map_err(|e| bad(e.to_string()))?;
        json_patch::patch(&mut scale, &p)
            .map_err(|e| ApiError::new(422, "Invalid", e.to_string()))?;
    } else if ct.contains("yaml") {
        let p: Value = serde_yaml::from_slice(body).map_err(|e| bad(e.to_string()))?;
        json_merge_patch(&mut scale, &p);
    } else {
        let p: Value = serde_json::from_slice(body).map_err(|e| bad(e.to_string()))?;
        json_merge_patch(&mut scale, &p);
    }
    let rv = meta_str(&scale, "resourceVersion")
        .map(String::from)
        .filter(|r| Some(r.as_str()) != meta_str(&obj, "resourceVersion"));
    set_replicas(
        ctx,
        rv,
        scale.pointer("/spec/replicas").cloned().unwrap_or(json!(0)),
    )
    .await
}

/// POST pods/NAME/binding.
pub async fn bind(ctx: &Ctx, body: Value) -> ApiResult<Resp> {
    let node = body
        .pointer("/target/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if node.is_empty() {
        return Err(ApiError::new(
            422,
            "Invalid",
            format!(
                "Binding \"{}\" is invalid: target.name: Required value",
                ctx.name()
            ),
        ));
    }
    let uid_pre = body
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .map(String::from);
    update_with(ctx, Mode::Binding, |old| {
        if let Some(u) = &uid_pre {
            if Some(u.as_str()) != meta_str(old, "uid") {
                return Err(ApiError::conflict(
                    "",
                    "pods/binding",
                    ctx.name(),
                    "Precondition failed: UID mismatch",
                ));
            }
        }
        if old.pointer("/metadata/deletionTimestamp").is_some() {
            return Err(ApiError::conflict(
                "",
                "pods/binding",
                ctx.name(),
                "pod is being deleted, cannot be assigned to a host",
            ));
        }
        if let Some(cur) = old
            .pointer("/spec/nodeName")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
        {
            return Err(ApiError::conflict(
                "",
                "pods/binding",
                ctx.name(),
                &format!("pod {} is already assigned to node \"{cur}\"", ctx.name()),
            ));
        }
        let mut new = old.clone();
        new["spec"]["nodeName"] = json!(node);
        if let Some(ann) = body
            .pointer("/metadata/annotations")
            .and_then(Value::as_object)
        {
            for (k, v) in ann {
                new["metadata"]["annotations"][k] = v.clone();
            }
        }
        Ok(new)
    })
    .await?;
    // PodScheduled=True goes into status, which the main update path keeps.
    let now = crate::objects::now_rfc3339();
    update_with(ctx, Mode::Status, |old| {
        let mut new = old.clone();
        let mut conds: Vec<Value> = old.pointer("/status/conditions").and_then(Value::as_array).cloned().unwrap_or_default();
        conds.retain(|c| c["type"] != "PodScheduled");
        conds.push(json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": now}));
        if !new.get("status").map(Value::is_object).unwrap_or(false) {
            new["status"] = json!({});
        }
        new["status"]["conditions"] = json!(conds);
        Ok(new)
    })
    .await?;
    Ok(json_response(201, &render::success_code(201)))
}

/// POST pods/NAME/eviction.
pub async fn evict(ctx: &Ctx, body: Value) -> ApiResult<Resp> {
    let opts = body
        .get("deleteOptions")
        .map(DeleteOpts::from_value)
        .unwrap_or_default();
    delete_named(ctx, &opts).await?;
    Ok(json_response(201, &render::success_code(201)))
}
