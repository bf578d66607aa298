//! The garbage collector: a graph of objects and their owner references, built from
//! watches of every owner/dependent kind; background, foreground and orphan deletion.

pub mod logic;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PropagationPolicy};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use serde_json::json;
use tracing::{debug, warn};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use logic::{
    decide_dependent, decide_owner, DependentAction, OwnerAction, OwnerState, FOREGROUND, ORPHAN,
};

/// The kinds the GC tracks: (group, version, kind, plural).
pub const KINDS: &[(&str, &str, &str, &str)] = &[
    ("", "v1", "Pod", "pods"),
    ("", "v1", "Service", "services"),
    ("", "v1", "Endpoints", "endpoints"),
    ("", "v1", "ConfigMap", "configmaps"),
    ("", "v1", "Secret", "secrets"),
    ("", "v1", "ServiceAccount", "serviceaccounts"),
    ("apps", "v1", "Deployment", "deployments"),
    ("apps", "v1", "ReplicaSet", "replicasets"),
    ("apps", "v1", "DaemonSet", "daemonsets"),
    ("apps", "v1", "StatefulSet", "statefulsets"),
];

fn api_resource(kind: usize) -> ApiResource {
    let (g, v, k, p) = KINDS[kind];
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(g, v, k), p)
}

fn kind_index(api_version: &str, kind: &str) -> Option<usize> {
    let (g, v) = api_version.split_once('/').unwrap_or(("", api_version));
    KINDS
        .iter()
        .position(|(kg, kv, kk, _)| *kg == g && *kv == v && *kk == kind)
}

#[derive(Debug, Clone)]
struct Item {
    kind: usize,
    namespace: Option<String>,
    name: String,
    owners: Vec<OwnerReference>,
    deleting: bool,
    finalizers: Vec<String>,
}

/// One dirty object with its dependents and (known) owners.
type Snapshot = (String, Item, Vec<(String, Item)>, Vec<Option<Item>>);

#[derive(Default)]
struct Graph {
    items: HashMap<String, Item>,
    dependents: HashMap<String, HashSet<String>>,
    dirty: HashSet<String>,
}

impl Graph {
    fn upsert(&mut self, uid: String, item: Item) {
        if let Some(old) = self.items.get(&uid) {
            for o in &old.owners {
                if let Some(d) = self.dependents.get_mut(&o.uid) {
                    d.remove(&uid);
                }
            }
        }
        for o in &item.owners {
            self.dependents
                .entry(o.uid.clone())
                .or_default()
                .insert(uid.clone());
            self.dirty.insert(o.uid.clone());
        }
        self.dirty.insert(uid.clone());
        self.items.insert(uid, item);
    }

    fn remove(&mut self, uid: &str) {
        if let Some(old) = self.items.remove(uid) {
            for o in &old.owners {
                if let Some(d) = self.dependents.get_mut(&o.uid) {
                    d.remove(uid);
                }
                self.dirty.insert(o.uid.clone());
            }
        }
        for d in self.dependents.get(uid).into_iter().flatten() {
            self.dirty.insert(d.clone());
        }
    }
}

fn item_of(kind: usize, o: &DynamicObject) -> Option<(String, Item)> {
    let m = &o.metadata;
    Some((
        m.uid.clone()?,
        Item {
            kind,
            namespace: m.namespace.clone(),
            name: m.name.clone()?,
            owners: m.owner_references.clone().unwrap_or_default(),
            deleting: m.deletion_timestamp.is_some(),
            finalizers: m.finalizers.clone().unwrap_or_default(),
        },
    ))
}

fn api_for(client: &kube::Client, kind: usize, ns: Option<&str>) -> Api<DynamicObject> {
    let ar = api_resource(kind);
    match ns {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
        None => Api::all_with(client.clone(), &ar),
    }
}

/// Runs the garbage collector forever.
pub async fn run(client: kube::Client) {
    let graph: Arc<Mutex<Graph>> = Arc::default();
    for (kind, _) in KINDS.iter().enumerate() {
        let (client, graph) = (client.clone(), graph.clone());
        tokio::spawn(async move {
            let api: Api<DynamicObject> = Api::all_with(client, &api_resource(kind));
            let stream = watcher::watcher(api, watcher::Config::default()).default_backoff();
            tokio::pin!(stream);
            while let Some(ev) = stream.next().await {
                let Ok(mut g) = graph.lock() else { return };
                match ev {
                    Ok(Event::Apply(o)) | Ok(Event::InitApply(o)) => {
                        if let Some((uid, item)) = item_of(kind, &o) {
                            g.upsert(uid, item);
                        }
                    }
                    Ok(Event::Delete(o)) => {
                        if let Some(uid) = o.metadata.uid.as_deref() {
                            g.remove(uid);
                        }
                    }
                    Ok(_) => {}
                    Err(e) => debug!(kind = KINDS[kind].2, error = %e, "gc watch"),
                }
            }
        });
    }
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (work, snapshot): (Vec<String>, Vec<Snapshot>) = {
            let Ok(mut g) = graph.lock() else { return };
            let work: Vec<String> = g.dirty.drain().collect();
            let snap = work
                .iter()
                .filter_map(|uid| {
                    let item = g.items.get(uid)?.clone();
                    let deps: Vec<(String, Item)> = g
                        .dependents
                        .get(uid)
                        .into_iter()
                        .flatten()
                        .filter_map(|d| Some((d.clone(), g.items.get(d)?.clone())))
                        .collect();
                    let owners: Vec<Option<Item>> = item
                        .owners
                        .iter()
                        .map(|o| g.items.get(&o.uid).cloned())
                        .collect();
                    Some((uid.clone(), item, deps, owners))
                })
                .collect();
            (work, snap)
        };
        let _ = work;
        for (uid, item, deps, owners) in snapshot {
            if let Err(e) = process(&client, &uid, &item, &deps, &owners).await {
                warn!(object = %item.name, error = %e, "garbage collection");
                if let Ok(mut g) = graph.lock() {
                    g.dirty.insert(uid);
                }
            }
        }
    }
}

async fn owner_state(
    client: &kube::Client,
    dep: &Item,
    r: &OwnerReference,
    known: Option<&Item>,
) -> Result<OwnerState, kube::Error> {
    if let Some(o) = known {
        return Ok(if !o.deleting {
            OwnerState::Alive
        } else if o.finalizers.iter().any(|f| f == FOREGROUND) {
            OwnerState::DeletingForeground
        } else {
            OwnerState::Deleting
        });
    }
    // Not in the graph: verify with the API server before acting (the watch may lag).
    let Some(kind) = kind_index(&r.api_version, &r.kind) else {
        return Ok(OwnerState::Alive);
    };
    let ns = if dep.namespace.is_some() && KINDS[kind].2 != "Node" {
        dep.namespace.as_deref()
    } else {
        None
    };
    match api_for(client, kind, ns).get_opt(&r.name).await? {
        Some(o) if o.metadata.uid.as_deref() == Some(r.uid.as_str()) => Ok(OwnerState::Alive),
        _ => Ok(OwnerState::Absent),
    }
}

/// Treats "already gone" as done.
fn ok_if_gone<T>(r: Result<T, kube::Error>) -> Result<(), kube::Error> {
    match r {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

async fn process(
    client: &kube::Client,
    uid: &str,
    item: &Item,
    deps: &[(String, Item)],
    owners: &[Option<Item>],
) -> Result<(), kube::Error> {
    let api = api_for(client, item.kind, item.namespace.as_deref());
    process_as_owner(client, &api, uid, item, deps).await?;
    process_as_dependent(client, &api, item, owners).await
}

/// The object as an owner: orphan its dependents, delete them (foreground), or drop the
/// foreground finalizer once none blocks it.
async fn process_as_owner(
    client: &kube::Client,
    api: &Api<DynamicObject>,
    uid: &str,
    item: &Item,
    deps: &[(String, Item)],
) -> Result<(), kube::Error> {
    let dep_state: Vec<(bool, bool)> = deps
        .iter()
        .map(|(_, d)| {
            (
                d.owners
                    .iter()
                    .any(|o| o.uid == uid && o.block_owner_deletion == Some(true)),
                d.deleting,
            )
        })
        .collect();
    match decide_owner(item.deleting, &item.finalizers, &dep_state) {
        OwnerAction::Orphan => {
            for (_, d) in deps {
                let refs: Vec<&OwnerReference> = d.owners.iter().filter(|o| o.uid != uid).collect();
                let dapi = api_for(client, d.kind, d.namespace.as_deref());
                let patch = Patch::Merge(json!({"metadata": {"ownerReferences": refs}}));
                ok_if_gone(dapi.patch(&d.name, &PatchParams::default(), &patch).await)?;
            }
            remove_finalizer(api, item, ORPHAN).await?;
        }
        OwnerAction::DeleteDependents => {
            for (_, d) in deps.iter().filter(|(_, d)| !d.deleting) {
                let dapi = api_for(client, d.kind, d.namespace.as_deref());
                let dp = DeleteParams {
                    propagation_policy: Some(PropagationPolicy::Foreground),
                    ..Default::default()
                };
                ok_if_gone(dapi.delete(&d.name, &dp).await)?;
            }
        }
        OwnerAction::RemoveForegroundFinalizer => remove_finalizer(api, item, FOREGROUND).await?,
        OwnerAction::None => {}
    }
    Ok(())
}

/// The object as a dependent: deleted when its owners are gone, or its dangling owner
/// references dropped.
async fn process_as_dependent(
    client: &kube::Client,
    api: &Api<DynamicObject>,
    item: &Item,
    owners: &[Option<Item>],
) -> Result<(), kube::Error> {
    if item.owners.is_empty() || (item.deleting && !item.finalizers.iter().any(|f| f == FOREGROUND))
    {
        return Ok(());
    }
    let mut states = Vec::new();
    for (r, known) in item.owners.iter().zip(owners) {
        states.push(owner_state(client, item, r, known.as_ref()).await?);
    }
    match decide_dependent(&item.owners, &states) {
        DependentAction::Keep => {}
        DependentAction::Delete { foreground } if !item.deleting => {
            let policy = if foreground {
                PropagationPolicy::Foreground
            } else {
                PropagationPolicy::Background
            };
            let dp = DeleteParams {
                propagation_policy: Some(policy),
                ..Default::default()
            };
            debug!(object = %item.name, "deleting dependent of a deleted owner");
            ok_if_gone(api.delete(&item.name, &dp).await)?;
        }
        DependentAction::Delete { .. } => {}
        DependentAction::RemoveRefs(gone) => {
            let refs: Vec<&OwnerReference> = item
                .owners
                .iter()
                .filter(|o| !gone.contains(&o.uid))
                .collect();
            api.patch(
                &item.name,
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"ownerReferences": refs}})),
            )
            .await?;
        }
    }
    Ok(())
}

async fn remove_finalizer(
    api: &Api<DynamicObject>,
    item: &Item,
    f: &str,
) -> Result<(), kube::Error> {
    let rest: Vec<&String> = item.finalizers.iter().filter(|x| x.as_str() != f).collect();
    let patch = Patch::Merge(json!({"metadata": {"finalizers": rest}}));
    ok_if_gone(api.patch(&item.name, &PatchParams::default(), &patch).await)
}
