//! `kubectl explain TYPE[.FIELD…]`: the kind's schema from the server's OpenAPI v3
//! document (`/openapi/v3` → the group version's `components.schemas`), rendered by
//! `print::explain` in kubectl's plaintext layout; a kind the document lacks fails like
//! kubectl does.

use crate::client::resources::resolve;
use crate::client::Api;
use crate::ctx::{out, CmdError, CmdResult, Ctx};
use crate::flags::{f, Kind, Spec};
use crate::json_get::{arr, s};
use serde_json::{Map, Value};

/// Flags of `explain`.
pub const FLAGS: &[Spec] = &[
    f("recursive", None, Kind::Bool),
    f("api-version", None, Kind::Value),
    f("output", None, Kind::Value),
];

/// Runs `explain`.
pub async fn run(ctx: &Ctx) -> CmdResult {
    let Some(arg) = ctx.args().first() else {
        return Err(CmdError::Msg("You must specify the type of resource to explain. Use \"kubectl api-resources\" for a complete list of supported resources.".into()));
    };
    let api = Api::connect(ctx).await?;
    let mut parts = arg.split('.');
    let ty = parts.next().unwrap_or("");
    let fields: Vec<&str> = parts.collect();
    // explain words an unknown type without the `error: ` prefix
    let res = resolve(Some(&api), ty).await.map_err(|e| match e {
        CmdError::Msg(m) => CmdError::Raw(m),
        other => other,
    })?;
    let mut head = String::new();
    if !res.group.is_empty() {
        head.push_str(&format!("GROUP:      {}\n", res.group));
    }
    head.push_str(&format!(
        "KIND:       {}\nVERSION:    {}\n\n",
        res.kind, res.version
    ));
    let index = api.get("/openapi/v3").await?;
    let key = if res.group.is_empty() {
        format!("api/{}", res.version)
    } else {
        format!("apis/{}/{}", res.group, res.version)
    };
    let url = index
        .pointer(&format!(
            "/paths/{}/serverRelativeURL",
            key.replace('/', "~1")
        ))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let doc = if url.is_empty() {
        Value::Null
    } else {
        api.get(&url).await?
    };
    let empty = Map::new();
    let schemas = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let root = schemas.values().find(|sch| {
        arr(sch, "/x-kubernetes-group-version-kind")
            .iter()
            .any(|g| {
                s(g, "/group") == res.group
                    && s(g, "/kind") == res.kind
                    && s(g, "/version") == res.version
            })
    });
    let Some(node) = root else {
        out(&head);
        return Err(CmdError::Msg(format!(
            "GVK map[group:{} kind:{} version:{}] not found in OpenAPI schema",
            res.group, res.kind, res.version
        )));
    };
    match crate::print::explain::render(node, &fields, ctx.p.flag("recursive"), &doc) {
        Ok(text) => {
            out(&format!("{head}{text}"));
            Ok(())
        }
        Err(e) => {
            // kubectl streams the head before the template fails
            out(&head);
            Err(CmdError::Msg(e.to_string()))
        }
    }
}
