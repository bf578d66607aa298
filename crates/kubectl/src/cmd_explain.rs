//! `kubectl explain TYPE[.FIELD…]`: the kind's schema from the server's OpenAPI v3
//! document (`/openapi/v3` → the group version's `components.schemas`), printed in
//! kubectl's plaintext layout; a kind the document lacks fails like kubectl does.

use crate::client::Api;
use crate::ctx::{out, CmdError, CmdResult, Ctx};
use crate::describe_util::{arr, s};
use crate::flags::{f, Kind, Spec};
use crate::resources::resolve;
use serde_json::{Map, Value};

/// Flags of `explain`.
pub const FLAGS: &[Spec] = &[
    f("recursive", None, Kind::Bool),
    f("api-version", None, Kind::Value),
    f("output", Some('o'), Kind::Value),
];

fn wrap(text: &str, indent: usize, width: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split(' ') {
            if !line.is_empty() && line.len() + 1 + word.len() > width {
                out.push_str(&format!("{pad}{line}\n"));
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        out.push_str(&format!("{pad}{line}\n"));
    }
    out
}

fn resolve_ref<'a>(schemas: &'a Map<String, Value>, v: &'a Value) -> &'a Value {
    let r = v
        .get("$ref")
        .or_else(|| v.pointer("/allOf/0/$ref"))
        .and_then(Value::as_str);
    match r
        .and_then(|r| r.rsplit('/').next())
        .and_then(|n| schemas.get(n))
    {
        Some(t) => t,
        None => v,
    }
}

fn type_name(v: &Value) -> String {
    let r = v
        .get("$ref")
        .or_else(|| v.pointer("/allOf/0/$ref"))
        .and_then(Value::as_str);
    if let Some(r) = r {
        let name = r.rsplit('.').next().unwrap_or(r);
        return name.to_string();
    }
    match s(v, "/type") {
        "array" => format!("[]{}", v.get("items").map(type_name).unwrap_or_default()),
        "object" if v.get("additionalProperties").is_some() => format!(
            "map[string]{}",
            v.get("additionalProperties")
                .map(type_name)
                .unwrap_or_default()
        ),
        "" => "Object".into(),
        t => t.to_string(),
    }
}

/// Renders the kind (or the field at `fields`) below the `head` lines.
fn render<'a>(
    schemas: &'a Map<String, Value>,
    mut node: &'a Value,
    fields: &[&str],
    head: String,
) -> Result<String, CmdError> {
    let mut text = head;
    for (n, fname) in fields.iter().enumerate() {
        let Some(child) = node.pointer(&format!("/properties/{fname}")) else {
            return Err(CmdError::Msg(format!("field \"{fname}\" does not exist")));
        };
        let field_type = type_name(child);
        let child_desc = s(child, "/description").to_string();
        node = resolve_ref(schemas, child);
        if n + 1 == fields.len() {
            text.push_str(&format!("FIELD: {fname} <{field_type}>\n\n"));
            let desc = if child_desc.is_empty() {
                s(node, "/description").to_string()
            } else {
                child_desc
            };
            text.push_str(&format!("\nDESCRIPTION:\n{}", wrap(&desc, 4, 76)));
        }
        if let Some(items) = node.get("items") {
            node = resolve_ref(schemas, items);
        }
    }
    if fields.is_empty() {
        text.push_str(&format!(
            "DESCRIPTION:\n{}",
            wrap(s(node, "/description"), 4, 76)
        ));
    }
    if let Some(props) = node.get("properties").and_then(Value::as_object) {
        text.push_str("    \nFIELDS:\n");
        let required: Vec<&str> = arr(node, "/required")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let mut names: Vec<&String> = props.keys().collect();
        names.sort();
        for name in names {
            let p = &props[name];
            let req = if required.contains(&name.as_str()) {
                " -required-"
            } else {
                ""
            };
            text.push_str(&format!("  {name}\t<{}>{req}\n", type_name(p)));
            let d = s(p, "/description");
            if !d.is_empty() {
                text.push_str(&wrap(d, 4, 76));
            }
            text.push('\n');
        }
    }
    Ok(text)
}

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
    out(&render(schemas, node, &fields, head)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_kind_and_field() {
        let doc = json!({
            "io.k8s.api.apps.v1.Deployment": {"description": "Deployment enables declarative updates.",
                "properties": {"spec": {"allOf": [{"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"}], "description": "Specification."},
                               "kind": {"type": "string", "description": "Kind is a string."}}},
            "io.k8s.api.apps.v1.DeploymentSpec": {"description": "DeploymentSpec is the spec.", "required": ["selector"],
                "properties": {"replicas": {"type": "integer", "description": "Number of pods."},
                               "selector": {"type": "object", "description": "Label selector."}}}
        });
        let schemas = doc.as_object().cloned().unwrap_or_default();
        let root = &schemas["io.k8s.api.apps.v1.Deployment"];
        let kind = render(&schemas, root, &[], "KIND: D\n\n".into()).unwrap_or_default();
        assert!(
            kind.contains("DESCRIPTION:\n    Deployment enables declarative updates.\n"),
            "{kind}"
        );
        assert!(
            kind.contains("  spec\t<DeploymentSpec>\n    Specification.\n"),
            "{kind}"
        );
        let field = render(&schemas, root, &["spec"], String::new()).unwrap_or_default();
        assert!(
            field.starts_with("FIELD: spec <DeploymentSpec>\n"),
            "{field}"
        );
        assert!(
            field.contains("  selector\t<object> -required-\n"),
            "{field}"
        );
        assert!(render(&schemas, root, &["nope"], String::new()).is_err());
    }
}
