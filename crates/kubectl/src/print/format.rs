//! `-o` output formats for objects: json, yaml, name, go-template(-file), jsonpath(-file),
//! custom-columns(-file); tables are in `print::table`.

use crate::ctx::{CmdError, Ctx};
use crate::ordered_json::Doc;
use crate::print::json::to_go_json;
use crate::print::tabwriter::TabWriter;
use serde_json::{json, Value};

/// A parsed `-o` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// Default human-readable table.
    Table,
    /// `-o wide`.
    Wide,
    /// `-o json`.
    Json,
    /// `-o yaml`.
    Yaml,
    /// `-o name`.
    Name,
    /// Go template source.
    GoTemplate(String),
    /// JSONPath template source.
    JsonPath(String),
    /// Column specs `HEADER:path`.
    CustomColumns(Vec<(String, String)>),
}

const GET_FORMATS: &str = "custom-columns,custom-columns-file,go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,template,templatefile,wide,yaml";
const OBJ_FORMATS: &str = "go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,template,templatefile,yaml";

fn read(path: &str) -> Result<String, CmdError> {
    std::fs::read_to_string(path).map_err(|_| {
        CmdError::Msg(format!(
            "error reading template {path}, open {path}: no such file or directory"
        ))
    })
}

/// Parses `-o`; `tables` says whether table formats (wide, custom-columns) are allowed.
pub fn parse_format(ctx: &Ctx, tables: bool) -> Result<Format, CmdError> {
    let o = ctx.p.get("output").unwrap_or("");
    let tmpl = ctx.p.get("template").map(str::to_string);
    let (name, arg) = match o.split_once('=') {
        Some((n, a)) => (n, Some(a.to_string())),
        None => (o, tmpl.clone()),
    };
    let bad = || {
        CmdError::Msg(format!(
            "unable to match a printer suitable for the output format \"{o}\", allowed formats are: {}",
            if tables { GET_FORMATS } else { OBJ_FORMATS }
        ))
    };
    let need = |a: Option<String>| {
        a.ok_or_else(|| CmdError::Msg("template format specified but no template given".into()))
    };
    Ok(match name {
        "" if tmpl.is_some() => Format::GoTemplate(tmpl.unwrap_or_default()),
        "" => Format::Table,
        "wide" if tables => Format::Wide,
        "json" => Format::Json,
        "yaml" => Format::Yaml,
        "name" => Format::Name,
        "go-template" | "template" => Format::GoTemplate(need(arg)?),
        "go-template-file" | "templatefile" => Format::GoTemplate(read(&need(arg)?)?),
        "jsonpath" => Format::JsonPath(need(arg)?),
        "jsonpath-file" => Format::JsonPath(read(&need(arg)?)?),
        "custom-columns" if tables => {
            Format::CustomColumns(parse_columns(&arg.unwrap_or_default())?)
        }
        "custom-columns-file" if tables => {
            let text = read(&arg.unwrap_or_default())?;
            let mut lines = text.lines().filter(|l| !l.trim().is_empty());
            let heads: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
            let paths: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
            if heads.len() != paths.len() {
                return Err(CmdError::Msg(format!(
                    "expected {} headers, found {}",
                    heads.len(),
                    paths.len()
                )));
            }
            Format::CustomColumns(
                heads
                    .iter()
                    .zip(paths)
                    .map(|(h, p)| (h.to_string(), p.to_string()))
                    .collect(),
            )
        }
        _ => return Err(bad()),
    })
}

fn parse_columns(spec: &str) -> Result<Vec<(String, String)>, CmdError> {
    if spec.is_empty() {
        return Err(CmdError::Msg(
            "custom-columns format specified but no custom columns given".into(),
        ));
    }
    spec.split(',')
        .map(|c| match c.split_once(':') {
            Some((h, p)) => Ok((h.to_string(), p.to_string())),
            None => Err(CmdError::Msg(format!(
                "unexpected custom-columns spec: {c}, expected <header>:<json-path-expr>"
            ))),
        })
        .collect()
}

/// `kind[.group]/name` as `-o name` prints it.
pub fn object_name(obj: &Value) -> String {
    let kind = obj
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_lowercase();
    let api = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let group = api.split_once('/').map(|(g, _)| g).unwrap_or("");
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    if group.is_empty() {
        format!("{kind}/{name}")
    } else {
        format!("{kind}.{group}/{name}")
    }
}

/// Wraps several objects in a `List` as kubectl does.
pub fn as_list(items: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}})
}

/// Renders a template format (go-template/jsonpath) for a value (used by `config view`).
pub fn print_value_template(o: &str, v: &Value, ctx: &Ctx) -> Result<String, CmdError> {
    let _ = o;
    match parse_format(ctx, false)? {
        Format::GoTemplate(t) => {
            crate::print::gotemplate::render(&t, v).map_err(|e| CmdError::Msg(e.to_string()))
        }
        Format::JsonPath(t) => {
            crate::print::jsonpath::render(&t, v).map_err(|e| CmdError::Msg(e.to_string()))
        }
        Format::Json => Ok(to_go_json(&Doc::from(v))),
        _ => Ok(crate::print::yaml::to_yaml(v)),
    }
}

/// Prints one object or a list for a non-table format. `single` = one named object.
pub fn render(fmt: &Format, objs: &[Value], single: bool) -> Result<String, CmdError> {
    let data = if single && objs.len() == 1 {
        objs[0].clone()
    } else {
        as_list(objs.to_vec())
    };
    Ok(match fmt {
        Format::Json => to_go_json(&Doc::from(&data)),
        Format::Yaml => crate::print::yaml::to_yaml(&data),
        Format::Name => objs
            .iter()
            .map(|o| format!("{}\n", object_name(o)))
            .collect(),
        Format::GoTemplate(t) => {
            crate::print::gotemplate::render(t, &data).map_err(|e| CmdError::Msg(e.to_string()))?
        }
        Format::JsonPath(t) => {
            crate::print::jsonpath::render(t, &data).map_err(|e| CmdError::Msg(e.to_string()))?
        }
        Format::CustomColumns(cols) => custom_columns(cols, objs, false),
        Format::Table | Format::Wide => String::new(),
    })
}

/// Renders custom columns, one row per object.
pub fn custom_columns(cols: &[(String, String)], objs: &[Value], no_headers: bool) -> String {
    let mut tw = TabWriter::new();
    if !no_headers {
        tw.row(&cols.iter().map(|c| c.0.clone()).collect::<Vec<_>>());
    }
    for o in objs {
        let cells: Vec<String> = cols
            .iter()
            .map(|(_, p)| {
                let path = p.trim().trim_start_matches('{').trim_end_matches('}');
                let path = if path.starts_with('.') || path.starts_with('$') {
                    path.to_string()
                } else {
                    format!(".{path}")
                };
                let vals = jsonpath_rust::query::js_path_vals(
                    &format!("${}", path.trim_start_matches('$')),
                    o,
                )
                .map(|v| v.into_iter().cloned().collect::<Vec<_>>())
                .unwrap_or_default();
                let vals: Vec<String> = vals
                    .iter()
                    .filter(|v| !v.is_null())
                    .map(|v| match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect();
                if vals.is_empty() {
                    "<none>".to_string()
                } else {
                    vals.join(",")
                }
            })
            .collect();
        tw.row(&cells);
    }
    tw.flush()
}
