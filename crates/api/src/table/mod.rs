//! `meta.k8s.io/v1` Table columns and cells for each kind, as upstream's printers (`pkg/printers/internalversion`) build them.

mod duration;
mod event;
mod pod;
mod workloads;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::json::{arr_at, obj_at, str_at};
use crate::registry::ResourceInfo;

pub use duration::{human_duration_secs, since};

/// One column definition of a Table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Column name as upstream spells it ("Name", "Ready", "Port(s)").
    pub name: &'static str,
    /// JSON schema type: "string", "integer", "boolean".
    pub type_: &'static str,
    /// Format hint ("name" for the object name column).
    pub format: &'static str,
    /// Human description.
    pub description: &'static str,
    /// 0 for the default view, 1 for `-o wide`.
    pub priority: i32,
}

impl Column {
    /// The column as a `TableColumnDefinition` JSON object.
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "type": self.type_,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        })
    }
}

pub(crate) const NAME_DOC: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
pub(crate) const AGE_DOC: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

pub(crate) const fn col(
    name: &'static str,
    type_: &'static str,
    description: &'static str,
    priority: i32,
) -> Column {
    Column {
        name,
        type_,
        format: "",
        description,
        priority,
    }
}

pub(crate) const NAME: Column = Column {
    name: "Name",
    type_: "string",
    format: "name",
    description: NAME_DOC,
    priority: 0,
};
pub(crate) const AGE: Column = col("Age", "string", AGE_DOC, 0);

/// Column definitions for a resource (all priorities; kubectl hides priority 1 unless `-o wide`).
pub fn columns(res: &ResourceInfo) -> Vec<Column> {
    match (res.group, res.kind) {
        ("", "Pod") => pod::columns(),
        ("", "Event") | ("events.k8s.io", "Event") => event::columns(),
        ("", "Node") => workloads::node_columns(),
        ("apps", "Deployment") => workloads::deployment_columns(),
        ("apps", "ReplicaSet") => workloads::replicaset_columns(),
        ("", "Service") => workloads::service_columns(),
        ("", "Namespace") => vec![
            NAME,
            col("Status", "string", "The status of the namespace", 0),
            AGE,
        ],
        ("", "ConfigMap") => vec![
            NAME,
            col("Data", "string", "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.", 0),
            AGE,
        ],
        ("", "Secret") => vec![
            NAME,
            col("Type", "string", "Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types", 0),
            col("Data", "string", "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4", 0),
            AGE,
        ],
        ("", "ServiceAccount") => vec![
            NAME,
            col("Secrets", "string", "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.", 0),
            AGE,
        ],
        ("", "Endpoints") => vec![
            NAME,
            col("Endpoints", "string", "The set of all endpoints is the union of all subsets. Addresses are placed into subsets according to the IPs they share. A single address with multiple ports, some of which are ready and some of which are not (because they come from different containers) will result in the address being displayed in different subsets for the different ports. No address will appear in both Addresses and NotReadyAddresses in the same subset. Sets of addresses and ports that comprise a service.", 0),
            AGE,
        ],
        ("coordination.k8s.io", "Lease") => vec![
            NAME,
            col("Holder", "string", "holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field.", 0),
            AGE,
        ],
        _ => vec![NAME, AGE],
    }
}

/// The cells of one row for `obj` (one per column of [`columns`]), with AGE relative to `now`.
pub fn cells(res: &ResourceInfo, obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let name = json!(str_at(obj, &["metadata", "name"]));
    let age = json!(age(obj, now));
    match (res.group, res.kind) {
        ("", "Pod") => pod::cells(obj, now),
        ("", "Event") => event::cells(obj, now),
        ("events.k8s.io", "Event") => event::cells(&event::from_events_v1(obj), now),
        ("", "Node") => workloads::node_cells(obj, now),
        ("apps", "Deployment") => workloads::deployment_cells(obj, now),
        ("apps", "ReplicaSet") => workloads::replicaset_cells(obj, now),
        ("", "Service") => workloads::service_cells(obj, now),
        ("", "Namespace") => vec![name, json!(str_at(obj, &["status", "phase"])), age],
        ("", "ConfigMap") => {
            let n = obj_at(obj, &["data"]).map_or(0, |m| m.len())
                + obj_at(obj, &["binaryData"]).map_or(0, |m| m.len());
            vec![name, json!(n as i64), age]
        }
        ("", "Secret") => {
            let n = obj_at(obj, &["data"]).map_or(0, |m| m.len());
            vec![name, json!(str_at(obj, &["type"])), json!(n as i64), age]
        }
        ("", "ServiceAccount") => {
            vec![name, json!(arr_at(obj, &["secrets"]).len() as i64), age]
        }
        ("", "Endpoints") => vec![name, json!(format_endpoints(obj)), age],
        ("coordination.k8s.io", "Lease") => {
            vec![name, json!(str_at(obj, &["spec", "holderIdentity"])), age]
        }
        _ => vec![name, age],
    }
}

/// Row conditions upstream attaches (pods: `Completed` for Succeeded/Failed), as JSON, if any.
pub fn row_conditions(res: &ResourceInfo, obj: &Value) -> Option<Value> {
    if !res.group.is_empty() || res.kind != "Pod" {
        return None;
    }
    match str_at(obj, &["status", "phase"]) {
        "Succeeded" => Some(
            json!([{"type": "Completed", "status": "True", "reason": "Succeeded", "message": "The pod has completed successfully."}]),
        ),
        "Failed" => Some(
            json!([{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}]),
        ),
        _ => None,
    }
}

/// A whole Table for a list of objects; `include_object` picks the row `object` form ("None", "Metadata" or "Object").
pub fn table(
    res: &ResourceInfo,
    items: &[Value],
    now: DateTime<Utc>,
    include_object: &str,
) -> Value {
    let cols: Vec<Value> = columns(res).iter().map(Column::to_json).collect();
    let rows: Vec<Value> = items
        .iter()
        .map(|o| {
            let mut row = json!({"cells": cells(res, o, now)});
            if let Some(c) = row_conditions(res, o) {
                row["conditions"] = c;
            }
            match include_object {
                "None" => {}
                "Object" => row["object"] = o.clone(),
                _ => {
                    row["object"] = json!({
                        "kind": "PartialObjectMetadata",
                        "apiVersion": "meta.k8s.io/v1",
                        "metadata": o.get("metadata").cloned().unwrap_or(json!({})),
                    })
                }
            }
            row
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {},
        "columnDefinitions": cols,
        "rows": rows,
    })
}

pub(crate) fn age(obj: &Value, now: DateTime<Utc>) -> String {
    since(
        obj.pointer("/metadata/creationTimestamp")
            .and_then(Value::as_str),
        now,
    )
}

fn join_host_port(ip: &str, port: i64) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

/// Upstream's `formatEndpoints` with all ports: up to three `ip:port`, then `+ N more...`.
pub(crate) fn format_endpoints(obj: &Value) -> String {
    let subsets = arr_at(obj, &["subsets"]);
    if subsets.is_empty() {
        return "<none>".to_string();
    }
    let max = 3;
    let mut list = Vec::new();
    let mut more = false;
    let mut count = 0;
    for ss in subsets {
        for port in arr_at(ss, &["ports"]) {
            let p = port.get("port").and_then(Value::as_i64).unwrap_or(0);
            for addr in arr_at(ss, &["addresses"]) {
                if list.len() == max {
                    more = true;
                }
                if !more {
                    list.push(join_host_port(str_at(addr, &["ip"]), p));
                }
                count += 1;
            }
        }
    }
    let ret = list.join(",");
    if more {
        format!("{ret} + {} more...", count - max)
    } else {
        ret
    }
}

#[cfg(test)]
mod tests;
