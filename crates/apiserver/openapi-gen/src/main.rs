//! Writes the OpenAPI v3 component schemas of the kinds Skiff serves, per group-version,
//! as one gzip-compressed JSON object `{"api/v1": {NAME: SCHEMA, …}, "apis/apps/v1": …}`.
//! Schemas come from k8s-openapi's `schemars` impls (upstream's field descriptions) and
//! are shaped like upstream's documents: `#/components/schemas/` references wrapped in
//! `allOf` when they carry a description, `x-kubernetes-group-version-kind` on kinds and
//! the strategic-merge metadata kubectl's client-side apply reads.

use k8s_openapi::api::{apps, coordination, core, events, policy};
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

/// One group-version document: its path and its kinds' schema names with their GVKs.
struct GroupVersion {
    path: &'static str,
    group: &'static str,
    version: &'static str,
    kinds: Vec<(String, &'static str)>,
}

fn add<T: JsonSchema>(g: &mut SchemaGenerator, gv: &mut GroupVersion, kind: &'static str) {
    let _ = g.subschema_for::<T>();
    gv.kinds.push((T::schema_name().into_owned(), kind));
}

/// Strategic merge metadata upstream puts on list fields: (schema, field, merge key,
/// strategy).
const PATCH_META: &[(&str, &str, Option<&str>, &str)] = &[
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        "finalizers",
        None,
        "merge",
    ),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        "ownerReferences",
        Some("uid"),
        "merge",
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "containers",
        Some("name"),
        "merge",
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "initContainers",
        Some("name"),
        "merge",
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "ephemeralContainers",
        Some("name"),
        "merge",
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "volumes",
        Some("name"),
        "merge,retainKeys",
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "imagePullSecrets",
        Some("name"),
        "merge",
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "hostAliases",
        Some("ip"),
        "merge",
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "resourceClaims",
        Some("name"),
        "merge,retainKeys",
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "schedulingGates",
        Some("name"),
        "merge",
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "topologySpreadConstraints",
        Some("topologyKey"),
        "merge",
    ),
    (
        "io.k8s.api.core.v1.Container",
        "ports",
        Some("containerPort"),
        "merge",
    ),
    ("io.k8s.api.core.v1.Container", "env", Some("name"), "merge"),
    (
        "io.k8s.api.core.v1.Container",
        "volumeMounts",
        Some("mountPath"),
        "merge",
    ),
    (
        "io.k8s.api.core.v1.Container",
        "volumeDevices",
        Some("devicePath"),
        "merge",
    ),
    (
        "io.k8s.api.core.v1.EphemeralContainer",
        "env",
        Some("name"),
        "merge",
    ),
    (
        "io.k8s.api.core.v1.EphemeralContainer",
        "volumeMounts",
        Some("mountPath"),
        "merge",
    ),
    (
        "io.k8s.api.core.v1.EphemeralContainer",
        "volumeDevices",
        Some("devicePath"),
        "merge",
    ),
    (
        "io.k8s.api.core.v1.PodStatus",
        "conditions",
        Some("type"),
        "merge",
    ),
    (
        "io.k8s.api.core.v1.PodStatus",
        "podIPs",
        Some("ip"),
        "merge",
    ),
    (
        "io.k8s.api.core.v1.PodStatus",
        "hostIPs",
        Some("ip"),
        "merge",
    ),
    (
        "io.k8s.api.core.v1.ServiceSpec",
        "ports",
        Some("port"),
        "merge",
    ),
    (
        "io.k8s.api.core.v1.ServiceStatus",
        "conditions",
        Some("type"),
        "merge",
    ),
    (
        "io.k8s.api.core.v1.NamespaceStatus",
        "conditions",
        Some("type"),
        "merge",
    ),
    ("io.k8s.api.core.v1.NodeSpec", "podCIDRs", None, "merge"),
    (
        "io.k8s.api.core.v1.NodeStatus",
        "conditions",
        Some("type"),
        "merge",
    ),
    (
        "io.k8s.api.core.v1.NodeStatus",
        "addresses",
        Some("type"),
        "merge",
    ),
    (
        "io.k8s.api.apps.v1.DeploymentSpec",
        "strategy",
        None,
        "retainKeys",
    ),
    (
        "io.k8s.api.apps.v1.DeploymentStatus",
        "conditions",
        Some("type"),
        "merge",
    ),
    (
        "io.k8s.api.apps.v1.ReplicaSetStatus",
        "conditions",
        Some("type"),
        "merge",
    ),
];

/// `{"$ref": R, "description": D}` → `{"allOf": [{"$ref": R}], "description": D}`, as
/// upstream writes a reference that carries siblings.
fn shape(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if m.contains_key("$ref") && m.len() > 1 {
                if let Some(r) = m.remove("$ref") {
                    m.insert("allOf".into(), json!([{ "$ref": r }]));
                }
            }
            for (_, x) in m.iter_mut() {
                shape(x);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(shape),
        _ => {}
    }
}

fn refs(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            if let Some(r) = m.get("$ref").and_then(Value::as_str) {
                if let Some(n) = r.strip_prefix("#/components/schemas/") {
                    out.insert(n.to_string());
                }
            }
            m.values().for_each(|x| refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

/// Registers the served kinds; returns every schema generated and the documents.
fn generate() -> (Map<String, Value>, Vec<GroupVersion>) {
    let mut g = SchemaSettings::openapi3().into_generator();
    let gv = |path, group, version| GroupVersion {
        path,
        group,
        version,
        kinds: Vec::new(),
    };
    let mut core_v1 = gv("api/v1", "", "v1");
    add::<core::v1::Binding>(&mut g, &mut core_v1, "Binding");
    add::<core::v1::ConfigMap>(&mut g, &mut core_v1, "ConfigMap");
    add::<core::v1::Endpoints>(&mut g, &mut core_v1, "Endpoints");
    add::<core::v1::Event>(&mut g, &mut core_v1, "Event");
    add::<core::v1::Namespace>(&mut g, &mut core_v1, "Namespace");
    add::<core::v1::Node>(&mut g, &mut core_v1, "Node");
    add::<core::v1::Pod>(&mut g, &mut core_v1, "Pod");
    add::<core::v1::Secret>(&mut g, &mut core_v1, "Secret");
    add::<core::v1::Service>(&mut g, &mut core_v1, "Service");
    add::<core::v1::ServiceAccount>(&mut g, &mut core_v1, "ServiceAccount");
    let _ = g.subschema_for::<policy::v1::Eviction>();
    let mut apps_v1 = gv("apis/apps/v1", "apps", "v1");
    add::<apps::v1::Deployment>(&mut g, &mut apps_v1, "Deployment");
    add::<apps::v1::ReplicaSet>(&mut g, &mut apps_v1, "ReplicaSet");
    let _ = g.subschema_for::<k8s_openapi::api::autoscaling::v1::Scale>();
    let mut coord_v1 = gv("apis/coordination.k8s.io/v1", "coordination.k8s.io", "v1");
    add::<coordination::v1::Lease>(&mut g, &mut coord_v1, "Lease");
    let mut events_v1 = gv("apis/events.k8s.io/v1", "events.k8s.io", "v1");
    add::<events::v1::Event>(&mut g, &mut events_v1, "Event");
    let all = g.take_definitions(true).into_iter().collect();
    (all, vec![core_v1, apps_v1, coord_v1, events_v1])
}

/// Puts upstream's strategic merge metadata on the list fields of [`PATCH_META`].
fn add_patch_meta(all: &mut Map<String, Value>) {
    for (schema, field, key, strategy) in PATCH_META {
        if let Some(p) = all
            .get_mut(*schema)
            .and_then(|s| s.pointer_mut(&format!("/properties/{field}")))
            .and_then(Value::as_object_mut)
        {
            if let Some(k) = key {
                p.insert("x-kubernetes-patch-merge-key".into(), json!(k));
            }
            p.insert("x-kubernetes-patch-strategy".into(), json!(strategy));
        }
    }
}

/// `wanted` and every schema it references, transitively.
fn closure(all: &Map<String, Value>, mut wanted: BTreeSet<String>) -> BTreeSet<String> {
    let mut todo: Vec<String> = wanted.iter().cloned().collect();
    while let Some(n) = todo.pop() {
        let mut found = BTreeSet::new();
        if let Some(s) = all.get(&n) {
            refs(s, &mut found);
        }
        for f in found {
            if wanted.insert(f.clone()) {
                todo.push(f);
            }
        }
    }
    wanted
}

/// One schema as upstream's document shows it: shaped references, `metadata` optional,
/// the group-version-kind on kinds.
fn finish_schema(doc: &GroupVersion, name: &str, mut s: Value) -> Value {
    shape(&mut s);
    // k8s-openapi's Rust types make `metadata` mandatory; upstream's schemas do not
    if let Some(req) = s.get_mut("required").and_then(Value::as_array_mut) {
        req.retain(|f| f != "metadata");
        if req.is_empty() {
            if let Some(m) = s.as_object_mut() {
                m.remove("required");
            }
        }
    }
    if let Some((_, kind)) = doc.kinds.iter().find(|(k, _)| k == name) {
        if let Some(m) = s.as_object_mut() {
            m.insert(
                "x-kubernetes-group-version-kind".into(),
                json!([{"group": doc.group, "kind": kind, "version": doc.version}]),
            );
        }
    }
    s
}

/// The schemas of one group-version document: its kinds, `extra` and what they reference.
fn document(all: &Map<String, Value>, doc: &GroupVersion, extra: &[&str]) -> Map<String, Value> {
    let mut wanted: BTreeSet<String> = doc.kinds.iter().map(|(n, _)| n.clone()).collect();
    wanted.extend(extra.iter().map(|s| s.to_string()));
    let mut schemas = Map::new();
    for n in &closure(all, wanted) {
        if let Some(s) = all.get(n).cloned() {
            schemas.insert(n.clone(), finish_schema(doc, n, s));
        }
    }
    schemas
}

fn main() {
    let (mut all, docs) = generate();
    add_patch_meta(&mut all);
    let extra: &[(&str, &[&str])] = &[
        ("api/v1", &["io.k8s.api.policy.v1.Eviction"]),
        ("apis/apps/v1", &["io.k8s.api.autoscaling.v1.Scale"]),
    ];
    let mut out = BTreeMap::new();
    for doc in &docs {
        let more: Vec<&str> = extra
            .iter()
            .filter(|(p, _)| *p == doc.path)
            .flat_map(|(_, names)| names.iter().copied())
            .collect();
        let schemas = document(&all, doc, &more);
        eprintln!("{}: {} schemas", doc.path, schemas.len());
        out.insert(doc.path.to_string(), Value::Object(schemas));
    }
    let text = serde_json::to_vec(&out).unwrap_or_default();
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "crates/apiserver/assets/openapi-v3-schemas.json.gz".into());
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let _ = gz.write_all(&text);
    let bytes = gz.finish().unwrap_or_default();
    if let Err(e) = std::fs::write(&path, &bytes) {
        eprintln!("cannot write {path}: {e}");
        std::process::exit(1);
    }
    eprintln!(
        "wrote {path}: {} bytes ({} uncompressed)",
        bytes.len(),
        text.len()
    );
}
