//! PATCH: JSON patch, JSON merge patch, strategic merge patch and server-side apply.

use super::update::{update_with, Mode};
use super::{render, Ctx};
use crate::httputil::{content_type, Resp};
use crate::objects::meta_str;
use crate::resources::{json_merge_patch, server_side_apply, strategic_merge_patch, PatchError};
use crate::status::{ApiError, ApiResult, Cause};
use serde_json::Value;

fn patch_error(ctx: &Ctx, e: PatchError) -> ApiError {
    match e {
        PatchError::Conflict { conflicts } => {
            let msg = if conflicts.len() == 1 {
                format!("Apply failed with 1 conflict: {}", conflicts[0])
            } else {
                format!(
                    "Apply failed with {} conflicts: {}",
                    conflicts.len(),
                    conflicts.join("\n")
                )
            };
            let mut err = ApiError::new(409, "Conflict", msg);
            err.details.group = Some(ctx.res.group.to_string());
            err.details.kind = Some(ctx.res.plural.to_string());
            err.details.name = Some(ctx.name().to_string());
            err.details.causes = conflicts
                .iter()
                .map(|c| Cause {
                    reason: "FieldManagerConflict".into(),
                    field: c.rsplit(": ").next().unwrap_or("").to_string(),
                    message: c.clone(),
                })
                .collect();
            err
        }
        PatchError::Invalid(m) => ApiError::new(422, "Invalid", m),
    }
}

fn keep_rv_precondition(ctx: &Ctx, old: &Value, new: &Value) -> ApiResult<()> {
    let (a, b) = (
        meta_str(old, "resourceVersion"),
        meta_str(new, "resourceVersion"),
    );
    if b.is_some() && b != Some("") && a != b {
        return Err(ApiError::conflict_modified(
            ctx.res.group,
            ctx.res.plural,
            ctx.name(),
        ));
    }
    Ok(())
}

/// PATCH handler (main resource or /status).
pub async fn patch(ctx: &Ctx, body: &[u8], mode: Mode) -> ApiResult<Resp> {
    let ct = content_type(&ctx.headers);
    let bad = |e: String| ApiError::bad_request(format!("error decoding patch: {e}"));
    let obj = match ct.as_str() {
        "application/apply-patch+yaml" | "application/apply-patch+cbor" => {
            let applied: Value = serde_yaml::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
            if !applied.is_object() {
                return Err(ApiError::bad_request(
                    "error decoding YAML: the object provided is not an object",
                ));
            }
            let manager = ctx.query.nonempty("fieldManager").ok_or_else(|| {
                ApiError::new(422, "Invalid", "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch")
            })?;
            let force = ctx.query.flag("force");
            match ctx.load().await {
                Err(e) if e.code == 404 && mode == Mode::Main => {
                    let merged = server_side_apply(ctx.res, None, &applied, manager, force)
                        .map_err(|e| patch_error(ctx, e))?;
                    let mut merged = merged;
                    if let Some(m) = crate::objects::meta_mut(&mut merged) {
                        m.insert("name".into(), Value::String(ctx.name().to_string()));
                    }
                    let o = super::create::create_object(ctx, merged).await?;
                    return render::one(ctx, 201, &o);
                }
                Err(e) => return Err(e),
                Ok(_) => {}
            }
            update_with(ctx, mode, |old| {
                let new = server_side_apply(ctx.res, Some(old), &applied, manager, force)
                    .map_err(|e| patch_error(ctx, e))?;
                keep_rv_precondition(ctx, old, &new)?;
                Ok(new)
            })
            .await?
        }
        "application/json-patch+json" => {
            let p: json_patch::Patch =
                serde_json::from_slice(body).map_err(|e| bad(e.to_string()))?;
            update_with(ctx, mode, |old| {
                let mut new = old.clone();
                json_patch::patch(&mut new, &p)
                    .map_err(|e| ApiError::new(422, "Invalid", e.to_string()))?;
                keep_rv_precondition(ctx, old, &new)?;
                Ok(new)
            })
            .await?
        }
        "application/merge-patch+json" => {
            let p: Value = serde_json::from_slice(body).map_err(|e| bad(e.to_string()))?;
            update_with(ctx, mode, |old| {
                let mut new = old.clone();
                json_merge_patch(&mut new, &p);
                keep_rv_precondition(ctx, old, &new)?;
                Ok(new)
            })
            .await?
        }
        "application/strategic-merge-patch+json" => {
            let p: Value = serde_json::from_slice(body).map_err(|e| bad(e.to_string()))?;
            if !p.is_object() {
                return Err(bad("patch is not an object".into()));
            }
            update_with(ctx, mode, |old| {
                let new =
                    strategic_merge_patch(ctx.res, old, &p).map_err(|e| patch_error(ctx, e))?;
                keep_rv_precondition(ctx, old, &new)?;
                Ok(new)
            })
            .await?
        }
        other => return Err(ApiError::unsupported_media(other)),
    };
    render::one(ctx, 200, &obj)
}
