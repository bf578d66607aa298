//! Pod spec validation (pods and pod templates): containers, ports, env, mounts, policies.

use std::collections::HashSet;

use serde_json::Value;

use super::errors::{duplicate, invalid, invalid_str, not_supported, required, FieldCause};
use super::names;
use crate::json::{arr_at, at, str_at};

/// Where a pod spec sits, which changes a few rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecContext {
    /// A Pod's own spec.
    Pod,
    /// The template of a Deployment or ReplicaSet (restartPolicy must be Always).
    Workload,
}

fn not_found(field: &str, value: &str) -> FieldCause {
    FieldCause {
        reason: "FieldValueNotFound".to_string(),
        field: field.to_string(),
        message: format!("Not found: {value:?}"),
    }
}

fn check_enum(errs: &mut Vec<FieldCause>, c: &Value, key: &str, path: &str, supported: &[&str]) {
    match c.get(key) {
        None | Some(Value::Null) => errs.push(required(&format!("{path}.{key}"), "")),
        Some(Value::String(s)) if s.is_empty() => errs.push(required(&format!("{path}.{key}"), "")),
        Some(v) => {
            if !v.as_str().is_some_and(|s| supported.contains(&s)) {
                errs.push(not_supported(&format!("{path}.{key}"), v, supported));
            }
        }
    }
}

fn validate_ports(errs: &mut Vec<FieldCause>, c: &Value, path: &str) {
    let mut port_names: HashSet<String> = HashSet::new();
    for (i, p) in arr_at(c, &["ports"]).iter().enumerate() {
        let pp = format!("{path}.ports[{i}]");
        let name = str_at(p, &["name"]);
        if !name.is_empty() {
            for m in names::port_name(name) {
                errs.push(invalid_str(&format!("{pp}.name"), name, &m));
            }
            if !port_names.insert(name.to_string()) {
                errs.push(duplicate(&format!("{pp}.name"), &Value::from(name)));
            }
        }
        match p.get("containerPort").and_then(Value::as_i64) {
            None | Some(0) => errs.push(required(&format!("{pp}.containerPort"), "")),
            Some(n) => {
                for m in names::port_num(n) {
                    errs.push(invalid(&format!("{pp}.containerPort"), &Value::from(n), &m));
                }
            }
        }
        if let Some(n) = p
            .get("hostPort")
            .and_then(Value::as_i64)
            .filter(|n| *n != 0)
        {
            for m in names::port_num(n) {
                errs.push(invalid(&format!("{pp}.hostPort"), &Value::from(n), &m));
            }
        }
        check_enum(errs, p, "protocol", &pp, &["SCTP", "TCP", "UDP"]);
    }
}

fn validate_container(
    errs: &mut Vec<FieldCause>,
    c: &Value,
    path: &str,
    all_names: &mut HashSet<String>,
    volumes: &HashSet<String>,
) {
    let name = str_at(c, &["name"]);
    if name.is_empty() {
        errs.push(required(&format!("{path}.name"), ""));
    } else {
        for m in names::dns1123_label(name) {
            errs.push(invalid_str(&format!("{path}.name"), name, &m));
        }
        if !all_names.insert(name.to_string()) {
            errs.push(duplicate(&format!("{path}.name"), &Value::from(name)));
        }
    }
    let image = str_at(c, &["image"]);
    if image.is_empty() {
        errs.push(required(&format!("{path}.image"), ""));
    } else if image.trim() != image {
        errs.push(invalid_str(
            &format!("{path}.image"),
            image,
            "must not have leading or trailing whitespace",
        ));
    }
    validate_ports(errs, c, path);
    for (i, e) in arr_at(c, &["env"]).iter().enumerate() {
        if str_at(e, &["name"]).is_empty() {
            errs.push(required(&format!("{path}.env[{i}].name"), ""));
        }
    }
    let mut mount_paths: HashSet<String> = HashSet::new();
    for (i, m) in arr_at(c, &["volumeMounts"]).iter().enumerate() {
        let mp = format!("{path}.volumeMounts[{i}]");
        let vname = str_at(m, &["name"]);
        if vname.is_empty() {
            errs.push(required(&format!("{mp}.name"), ""));
        } else if !volumes.contains(vname) {
            errs.push(not_found(&format!("{mp}.name"), vname));
        }
        let mpath = str_at(m, &["mountPath"]);
        if mpath.is_empty() {
            errs.push(required(&format!("{mp}.mountPath"), ""));
        } else if !mount_paths.insert(mpath.to_string()) {
            errs.push(invalid_str(
                &format!("{mp}.mountPath"),
                mpath,
                "must be unique",
            ));
        }
    }
    check_enum(
        errs,
        c,
        "imagePullPolicy",
        path,
        &["Always", "IfNotPresent", "Never"],
    );
    check_enum(
        errs,
        c,
        "terminationMessagePolicy",
        path,
        &["FallbackToLogsOnError", "File"],
    );
}

/// Validates a pod spec at `path` ("spec" or "spec.template.spec").
pub fn validate_pod_spec(spec: &Value, path: &str, ctx: SpecContext) -> Vec<FieldCause> {
    let mut errs = Vec::new();
    let mut volumes: HashSet<String> = HashSet::new();
    for (i, v) in arr_at(spec, &["volumes"]).iter().enumerate() {
        let name = str_at(v, &["name"]);
        let vp = format!("{path}.volumes[{i}].name");
        if name.is_empty() {
            errs.push(required(&vp, ""));
            continue;
        }
        for m in names::dns1123_label(name) {
            errs.push(invalid_str(&vp, name, &m));
        }
        if !volumes.insert(name.to_string()) {
            errs.push(duplicate(&vp, &Value::from(name)));
        }
    }
    let mut all_names: HashSet<String> = HashSet::new();
    let containers = arr_at(spec, &["containers"]);
    if containers.is_empty() {
        errs.push(required(&format!("{path}.containers"), ""));
    }
    for (i, c) in containers.iter().enumerate() {
        validate_container(
            &mut errs,
            c,
            &format!("{path}.containers[{i}]"),
            &mut all_names,
            &volumes,
        );
    }
    for (i, c) in arr_at(spec, &["initContainers"]).iter().enumerate() {
        validate_container(
            &mut errs,
            c,
            &format!("{path}.initContainers[{i}]"),
            &mut all_names,
            &volumes,
        );
    }
    match ctx {
        SpecContext::Pod => check_enum(
            &mut errs,
            spec,
            "restartPolicy",
            path,
            &["Always", "OnFailure", "Never"],
        ),
        SpecContext::Workload => check_enum(&mut errs, spec, "restartPolicy", path, &["Always"]),
    }
    check_enum(
        &mut errs,
        spec,
        "dnsPolicy",
        path,
        &["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"],
    );
    let node = str_at(spec, &["nodeName"]);
    if !node.is_empty() {
        for m in names::dns1123_subdomain(node) {
            errs.push(invalid_str(&format!("{path}.nodeName"), node, &m));
        }
    }
    let sa = str_at(spec, &["serviceAccountName"]);
    if !sa.is_empty() {
        for m in names::dns1123_subdomain(sa) {
            errs.push(invalid_str(&format!("{path}.serviceAccountName"), sa, &m));
        }
    }
    if let Some(n) = at(spec, &["activeDeadlineSeconds"]).and_then(Value::as_i64) {
        if !(1..=i64::from(i32::MAX)).contains(&n) {
            errs.push(invalid(
                &format!("{path}.activeDeadlineSeconds"),
                &Value::from(n),
                "must be between 1 and 2147483647, inclusive",
            ));
        }
    }
    errs
}
