//! `kubectl apply -f`: client-side apply (the last-applied-configuration annotation and
//! a three-way strategic merge patch) and `--server-side` (apply-patch+yaml).

use crate::client::api::{Api, ApiError};
use crate::client::resources::{for_kind, Res};
use crate::cmd::generate::{dry_run, DryRun};
use crate::ctx::{err, out, CmdError, CmdResult, Ctx};
use crate::flags::{f, Kind, Spec};
use crate::ordered_json::{to_go_json, Doc};
use crate::print::format::{parse_format, render, Format};
use crate::print::outcome::{field_validation, omit_managed, print_obj, with_dry_run};
use http::Method;
use serde_json::{json, Map, Value};

/// Flags of `apply`.
pub const FLAGS: &[Spec] = &[
    f("filename", Some('f'), Kind::Multi),
    f("recursive", Some('R'), Kind::Bool),
    f("server-side", None, Kind::Bool),
    f("force-conflicts", None, Kind::Bool),
    f("field-manager", None, Kind::Value),
    f("output", Some('o'), Kind::Value),
    f("dry-run", None, Kind::Value),
    f("prune", None, Kind::Bool),
    f("selector", Some('l'), Kind::Value),
    f("validate", None, Kind::Value),
    f("overwrite", None, Kind::Bool),
    f("force", None, Kind::Bool),
    f("wait", None, Kind::Bool),
    f("timeout", None, Kind::Value),
    f("kustomize", Some('k'), Kind::Value),
    f("template", None, Kind::Value),
    f("show-managed-fields", None, Kind::Bool),
    f("allow-missing-template-keys", None, Kind::Bool),
];

/// What kubectl adds below a server-side apply conflict.
const CONFLICT_HELP: &str =
    "Please review the fields above--they currently have other managers. Here
are the ways you can resolve this warning:
* If you intend to manage all of these fields, please re-run the apply
  command with the `--force-conflicts` flag.
* If you do not intend to manage all of the fields, please edit your
  manifest to remove references to the fields that should keep their
  current managers.
* You may co-own fields by updating your manifest to match the existing
  value; in this case, you'll become the manager if the other manager(s)
  stop managing the field (remove it from their configuration).
See https://kubernetes.io/docs/reference/using-api/server-side-apply/#conflicts";

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Go's json.Marshal of a map: keys sorted.
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut o = Map::new();
            for k in keys {
                o.insert(k.clone(), sorted(&m[k]));
            }
            Value::Object(o)
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        x => x.clone(),
    }
}

/// The merge key of list field `key` under `path` (strategic merge metadata).
fn merge_key(path: &[String], key: &str) -> Option<&'static str> {
    let in_container = path
        .iter()
        .any(|p| p == "containers" || p == "initContainers" || p == "ephemeralContainers");
    match key {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "imagePullSecrets"
        | "env" => Some("name"),
        "volumeMounts" => Some("mountPath"),
        "volumeDevices" => Some("devicePath"),
        "hostAliases" => Some("ip"),
        "ports" if in_container => Some("containerPort"),
        "ports" if path.last().is_some_and(|p| p == "spec") => Some("port"),
        "conditions" => Some("type"),
        "ownerReferences" => Some("uid"),
        _ => None,
    }
}

/// Three-way strategic merge patch of maps: changes from `current` to `modified`, and
/// deletions of what `original` had and `modified` dropped.
pub fn three_way(
    original: Option<&Value>,
    modified: &Value,
    current: Option<&Value>,
    path: &mut Vec<String>,
) -> Map<String, Value> {
    let mut patch = Map::new();
    let empty = Map::new();
    let m = modified.as_object().unwrap_or(&empty);
    let c = current.and_then(Value::as_object).unwrap_or(&empty);
    let o = original.and_then(Value::as_object).unwrap_or(&empty);
    for (k, mv) in m {
        let cv = c.get(k);
        let ov = o.get(k);
        match (mv, cv) {
            (Value::Object(_), Some(Value::Object(_))) => {
                path.push(k.clone());
                let sub = three_way(ov, mv, cv, path);
                path.pop();
                if !sub.is_empty() {
                    patch.insert(k.clone(), Value::Object(sub));
                }
            }
            (Value::Array(ma), Some(Value::Array(ca))) => {
                if let Some(key) = merge_key(path, k) {
                    path.push(k.clone());
                    let oa = ov.and_then(Value::as_array).cloned().unwrap_or_default();
                    let items = keyed_list(&oa, ma, ca, key, path);
                    path.pop();
                    if !items.is_empty() {
                        patch.insert(k.clone(), Value::Array(items));
                        let order: Vec<Value> = ma
                            .iter()
                            .filter_map(|e| e.get(key).map(|kv| json!({ key: kv })))
                            .collect();
                        patch.insert(format!("$setElementOrder/{k}"), Value::Array(order));
                    }
                } else if cv != Some(mv) {
                    patch.insert(k.clone(), mv.clone());
                }
            }
            _ => {
                if cv != Some(mv) {
                    patch.insert(k.clone(), mv.clone());
                }
            }
        }
    }
    for k in o.keys() {
        if !m.contains_key(k) && c.contains_key(k) {
            patch.insert(k.clone(), Value::Null);
        }
    }
    patch
}

fn keyed_list(
    original: &[Value],
    modified: &[Value],
    current: &[Value],
    key: &str,
    path: &mut Vec<String>,
) -> Vec<Value> {
    let find = |list: &[Value], kv: &Value| list.iter().find(|e| e.get(key) == Some(kv)).cloned();
    let mut items = Vec::new();
    for me in modified {
        let Some(kv) = me.get(key) else {
            items.push(me.clone());
            continue;
        };
        match find(current, kv) {
            Some(ce) => {
                let oe = find(original, kv);
                let mut sub = three_way(oe.as_ref(), me, Some(&ce), path);
                if !sub.is_empty() {
                    sub.insert(key.to_string(), kv.clone());
                    items.push(Value::Object(sub));
                }
            }
            None => items.push(me.clone()),
        }
    }
    for oe in original {
        let Some(kv) = oe.get(key) else { continue };
        if find(modified, kv).is_none() && find(current, kv).is_some() {
            items.push(json!({ key: kv, "$patch": "delete" }));
        }
    }
    items
}

/// The object with its last-applied-configuration annotation (and that annotation's text).
pub fn with_last_applied(obj: &Value) -> (Value, String) {
    let mut clean = obj.clone();
    if let Some(a) = clean
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        a.remove(LAST_APPLIED);
    }
    // kubectl leaves an empty annotations map behind in the recorded configuration
    if let Some(m) = clean.get_mut("metadata").and_then(Value::as_object_mut) {
        m.entry("annotations").or_insert_with(|| json!({}));
    }
    let text = format!("{}\n", sorted(&clean));
    let mut with = clean;
    if let Some(meta) = with.get_mut("metadata").and_then(Value::as_object_mut) {
        let ann = meta.entry("annotations").or_insert_with(|| json!({}));
        if let Some(a) = ann.as_object_mut() {
            a.insert(LAST_APPLIED.into(), json!(text));
        }
    }
    (with, text)
}

/// Applies one object; returns kubectl's verb and the object it prints for `-o`.
async fn apply_one(
    ctx: &Ctx,
    api: &Api,
    mut obj: Value,
    mode: DryRun,
) -> Result<(&'static str, Value), CmdError> {
    let av = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let kind = obj
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let res: Res = for_kind(Some(api), &av, &kind).await?;
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let ns = obj
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or(api.namespace.clone());
    if res.namespaced {
        obj["metadata"]["namespace"] = json!(ns);
    }
    let path = res.path(Some(&ns), Some(&name));
    if ctx.p.flag("server-side") {
        let manager = ctx.p.get("field-manager").unwrap_or("kubectl");
        let mut q = format!(
            "?fieldManager={manager}&fieldValidation={}",
            field_validation(ctx)?
        );
        if ctx.p.flag("force-conflicts") {
            q.push_str("&force=true");
        }
        let applied = api
            .call(
                Method::PATCH,
                &with_dry_run(&format!("{path}{q}"), mode),
                "application/json",
                Some("application/apply-patch+yaml"),
                obj.to_string().into_bytes(),
            )
            .await
            .map_err(|e| match e {
                ApiError::Status {
                    code: 409, message, ..
                } if message.starts_with("Apply failed") => {
                    CmdError::Msg(format!("{message}\n{CONFLICT_HELP}"))
                }
                e => e.into(),
            })?;
        return Ok(("serverside-applied", applied));
    }
    let q = format!(
        "?fieldManager=kubectl-client-side-apply&fieldValidation={}",
        field_validation(ctx)?
    );
    let (modified, _) = with_last_applied(&obj);
    let current = match api.get(&path).await {
        Ok(c) => c,
        Err(ApiError::Status { code: 404, .. }) => {
            if mode == DryRun::Client {
                return Ok(("created", modified));
            }
            let created = api
                .send_json(
                    Method::POST,
                    &with_dry_run(&format!("{}{q}", res.path(Some(&ns), None)), mode),
                    "application/json",
                    &modified,
                )
                .await?;
            return Ok(("created", created));
        }
        Err(e) => return Err(e.into()),
    };
    let original: Option<Value> = current
        .pointer(&format!(
            "/metadata/annotations/{}",
            LAST_APPLIED.replace('/', "~1")
        ))
        .and_then(Value::as_str)
        .and_then(|t| serde_json::from_str(t).ok());
    if mode == DryRun::Client {
        return Ok(("configured", current));
    }
    if original.is_none() {
        err(&format!("Warning: resource {}/{name} is missing the {LAST_APPLIED} annotation which is required by kubectl apply. kubectl apply should only be used on resources created declaratively by either kubectl create --save-config or kubectl apply. The missing annotation will be patched automatically.\n", res.plural));
    }
    let patch = three_way(
        original.as_ref(),
        &modified,
        Some(&current),
        &mut Vec::new(),
    );
    if patch.is_empty() {
        return Ok(("unchanged", current));
    }
    let builtin = crate::client::resources::builtins()
        .iter()
        .any(|b| b.kind == res.kind && b.group == res.group);
    let ctype = if builtin {
        "application/strategic-merge-patch+json"
    } else {
        "application/merge-patch+json"
    };
    let patched = api
        .send_json(
            Method::PATCH,
            &with_dry_run(&format!("{path}{q}"), mode),
            ctype,
            &Value::Object(patch),
        )
        .await?;
    Ok(("configured", patched))
}

/// Runs `apply`.
pub async fn run(ctx: &Ctx) -> CmdResult {
    let files = ctx.p.all("filename");
    if files.is_empty() {
        return Err(ctx.usage_h("must specify one of -f and -k"));
    }
    let mode = dry_run(ctx)?;
    field_validation(ctx)?;
    if mode == DryRun::Client && ctx.p.flag("server-side") {
        return Err(CmdError::Msg("--dry-run=client doesn't work with --server-side (did you mean --dry-run=server instead?)".into()));
    }
    let fmt = parse_format(ctx, false)?;
    let items = crate::input::manifests::read(&files, ctx.p.flag("recursive"))?;
    let api = Api::connect(ctx).await?;
    let mut failed = false;
    // with -o, kubectl prints every applied object at the end (a List when several)
    let mut printed = Vec::new();
    for m in items {
        match apply_one(ctx, &api, m.obj, mode).await {
            Ok((_, obj)) if fmt != Format::Table => printed.push(omit_managed(ctx, &obj)),
            Ok((verb, obj)) => print_obj(ctx, &obj, verb, mode)?,
            Err(e @ CmdError::Raw(_)) if e.to_string().starts_with("The connection") => {
                return Err(e)
            }
            Err(e) => {
                err(&format!("{e}\n"));
                failed = true;
            }
        }
    }
    if printed.len() > 1 && fmt == Format::Json {
        // a typed metav1.List: Go field order
        let list = Doc::obj()
            .with("kind", Doc::s("List"))
            .with("apiVersion", Doc::s("v1"))
            .with("metadata", Doc::obj())
            .with("items", Doc::Arr(printed.iter().map(Doc::from).collect()));
        out(&to_go_json(&list));
    } else if printed.len() > 1 && fmt != Format::Name {
        // apply's List carries empty list metadata
        let list = json!({"apiVersion": "v1", "items": printed, "kind": "List", "metadata": {}});
        out(&render(&fmt, &[list], true)?);
    } else if !printed.is_empty() {
        out(&render(&fmt, &printed, true)?);
    }
    if failed {
        return Err(CmdError::Exit(1));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_way_patch() {
        let original = json!({"spec": {"replicas": 1, "paused": false, "template": {"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}}}});
        let modified = json!({"spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "a", "image": "z"}]}}}});
        let current = json!({"spec": {"replicas": 1, "paused": false, "progressDeadlineSeconds": 600, "template": {"spec": {"containers": [{"name": "a", "image": "x", "imagePullPolicy": "Always"}, {"name": "b", "image": "y"}]}}}});
        let p = three_way(Some(&original), &modified, Some(&current), &mut Vec::new());
        assert_eq!(
            Value::Object(p),
            json!({"spec": {"replicas": 2, "paused": null, "template": {"spec": {
                "containers": [{"name": "a", "image": "z"}, {"name": "b", "$patch": "delete"}],
                "$setElementOrder/containers": [{"name": "a"}]}}}})
        );
    }
}
