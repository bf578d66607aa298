//! Reads `-f` sources: files, directories (`-R` recursive), `-` for stdin; splits
//! multi-document YAML/JSON into objects, unwrapping `List` kinds.

use crate::ctx::CmdError;
use serde::Deserialize;
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};

/// One object read from a manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The object.
    pub obj: Value,
    /// Where it was read from (the path as given, or `STDIN`).
    pub source: String,
}

fn collect(path: &Path, recursive: bool, top: bool, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for e in entries {
            if e.is_dir() {
                if recursive {
                    collect(&e, recursive, false, out);
                }
            } else if matches!(
                e.extension().and_then(|x| x.to_str()),
                Some("yaml" | "yml" | "json")
            ) {
                out.push(e);
            }
        }
    } else if top || path.is_file() {
        out.push(path.to_path_buf());
    }
}

/// Parses a YAML or JSON stream into objects; YAML scalars resolve as go-yaml v2
/// resolves them (YAML 1.1), as kubectl reads manifests.
pub fn parse_docs(text: &str, source: &str) -> Result<Vec<Value>, CmdError> {
    let mut docs = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let v = Value::deserialize(doc).map_err(|e| {
            let line = e.location().map(|l| l.line()).unwrap_or(1);
            let msg = e.to_string();
            let msg = msg.split(" at line").next().unwrap_or(&msg).to_string();
            CmdError::Msg(format!(
                "error parsing {source}: error converting YAML to JSON: yaml: line {line}: {msg}"
            ))
        })?;
        docs.push(v);
    }
    // JSON streams are decoded as JSON; YAML with go-yaml's YAML 1.1 resolver
    let is_json = text.trim_start().starts_with(['{', '[']);
    if !is_json {
        match crate::input::yaml11::load_all(text) {
            Ok(v) if v.len() == docs.len() => docs = v,
            Ok(_) => {}
            Err(e @ crate::input::yaml11::Yaml11Error::Key(_)) => {
                return Err(CmdError::Msg(format!(
                    "error parsing {source}: error converting YAML to JSON: {e}"
                )))
            }
            Err(e) => tracing::debug!("YAML 1.1 reading of {source} failed: {e}"),
        }
    }
    let mut out = Vec::new();
    for v in docs {
        match v {
            Value::Null => continue,
            Value::Object(_) => {
                if v.get("kind").and_then(Value::as_str).is_some_and(|k| k.ends_with("List")) && v.get("items").is_some() {
                    out.extend(v.get("items").and_then(Value::as_array).cloned().unwrap_or_default());
                } else {
                    out.push(v);
                }
            }
            _ => return Err(CmdError::Msg(format!("error parsing {source}: error converting YAML to JSON: yaml: cannot unmarshal into an object"))),
        }
    }
    Ok(out)
}

/// Reads every object from the `-f` arguments.
pub fn read(files: &[String], recursive: bool) -> Result<Vec<Manifest>, CmdError> {
    let mut out = Vec::new();
    for f in files {
        if f == "-" {
            let mut text = String::new();
            let _ = std::io::stdin().read_to_string(&mut text);
            for obj in parse_docs(&text, "STDIN")? {
                check_metadata(&obj, "STDIN")?;
                out.push(Manifest {
                    obj,
                    source: "STDIN".into(),
                });
            }
            continue;
        }
        if f.starts_with("http://") || f.starts_with("https://") {
            return Err(CmdError::Msg(format!(
                "unable to read URL \"{f}\": URLs are not supported"
            )));
        }
        let p = Path::new(f);
        if !p.exists() {
            return Err(CmdError::Msg(format!("the path \"{f}\" does not exist")));
        }
        let mut paths = Vec::new();
        collect(p, recursive, true, &mut paths);
        for path in paths {
            let name = if path == p {
                f.clone()
            } else {
                path.display().to_string()
            };
            let text = std::fs::read_to_string(&path)
                .map_err(|e| CmdError::Msg(format!("open {name}: {e}")))?;
            for obj in parse_docs(&text, &name)? {
                validate(&obj, &name)?;
                check_metadata(&obj, &name)?;
                out.push(Manifest {
                    obj,
                    source: name.clone(),
                });
            }
        }
    }
    if out.is_empty() {
        return Err(CmdError::Msg("no objects passed to create".into()));
    }
    Ok(out)
}

fn validate(obj: &Value, source: &str) -> Result<(), CmdError> {
    let mut missing = Vec::new();
    if obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        missing.push("apiVersion not set");
    }
    if obj
        .get("kind")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        missing.push("kind not set");
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(CmdError::Msg(format!(
        "error validating \"{source}\": error validating data: [{}]; if you choose to ignore these errors, turn validation off with --validate=false",
        missing.join(", ")
    )))
}

/// The JSON type name Go's decoder reports.
fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
        Value::Null => "null",
    }
}

/// kubectl decodes `metadata` into a typed ObjectMeta: label and annotation values and
/// the name fields must be strings (`labels: {x: y}` holds a bool). Fields are visited in
/// sorted order, the first mismatch is reported, as encoding/json does.
fn check_metadata(obj: &Value, source: &str) -> Result<(), CmdError> {
    let Some(meta) = obj.get("metadata").and_then(Value::as_object) else {
        return Ok(());
    };
    let fail = |v: &Value, field: &str, ty: &str| {
        CmdError::Msg(format!(
            "unable to decode \"{source}\": json: cannot unmarshal {} into Go struct field ObjectMeta.metadata.{field} of type {ty}",
            json_type(v)
        ))
    };
    for (k, v) in meta {
        match k.as_str() {
            "annotations" | "labels" => match v {
                Value::Object(m) => {
                    if let Some(bad) = m.values().find(|x| !x.is_string() && !x.is_null()) {
                        return Err(fail(bad, k, "string"));
                    }
                }
                Value::Null => {}
                other => return Err(fail(other, k, "map[string]string")),
            },
            "name" | "namespace" | "generateName" | "resourceVersion" | "uid"
                if !v.is_string() && !v.is_null() =>
            {
                return Err(fail(v, k, "string"));
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_doc_and_lists() {
        let docs = parse_docs("a: 1\n---\n---\nkind: List\nitems:\n- b: 2\n- c: 3\n", "x")
            .unwrap_or_default();
        assert_eq!(docs.len(), 3);
        assert!(parse_docs("a: b\n c: d: e\n", "bad.yaml").is_err());
    }

    #[test]
    fn yaml_1_1_labels_are_rejected_like_kubectl() {
        let docs = parse_docs("kind: A\nmetadata: {labels: {x: y, z: \"1\"}}\n", "m.yaml")
            .unwrap_or_default();
        assert_eq!(docs[0]["metadata"]["labels"]["x"], Value::Bool(true));
        let e = check_metadata(&docs[0], "m.yaml")
            .err()
            .map(|e| e.to_string());
        assert_eq!(e.as_deref(), Some("error: unable to decode \"m.yaml\": json: cannot unmarshal bool into Go struct field ObjectMeta.metadata.labels of type string"));
    }
}
