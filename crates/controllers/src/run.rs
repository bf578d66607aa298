//! Starts the informers and every controller, under leader election.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use kube::api::Api;
use kube::runtime::reflector::Store;
use tokio::task::JoinHandle;
use tracing::info;

use crate::config::{ControllersConfig, ControllersError};
use crate::context::{get, key_of, Ctx, Expectations};
use crate::podindex::PodIndex;
use crate::{deployment, gc, namespace, nodelifecycle, replicaset};
use skiff_api::owner::controller_ref;
use skiff_client::events::Recorder;
use skiff_client::informer::{self, Handler, OnSynced};
use skiff_client::leader::{run_elected, LeaseLock};
use skiff_client::workqueue::{run_workers, WorkQueue};

/// Runs all controllers until `shutdown` (holding `kube-system/kube-controller-manager`
/// first when `cfg.leader_elect`).
pub async fn run(
    client: kube::Client,
    cfg: ControllersConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ControllersError> {
    let lock = LeaseLock::new("kube-system", "kube-controller-manager", &cfg.identity);
    run_elected(
        client.clone(),
        cfg.leader_elect,
        lock,
        run_all(client, cfg),
        shutdown,
    )
    .await?;
    Ok(())
}

/// The work queues the informers feed.
#[derive(Clone, Default)]
struct Queues {
    replicasets: WorkQueue,
    deployments: WorkQueue,
    namespaces: WorkQueue,
}

/// The shared caches and the tasks feeding them.
struct Informers {
    pods: Store<Pod>,
    pod_index: PodIndex,
    replicasets: Store<ReplicaSet>,
    deployments: Store<Deployment>,
    nodes: Store<Node>,
    leases: Store<Lease>,
    namespaces: Store<Namespace>,
    tasks: Vec<JoinHandle<()>>,
}

async fn run_all(client: kube::Client, cfg: ControllersConfig) {
    info!("controllers starting");
    let q = Queues::default();
    let inf = start_informers(&client, &q).await;
    let ctx = Arc::new(Ctx {
        recorder: Recorder::new(client.clone(), "controller-manager", &cfg.identity),
        client: client.clone(),
        cfg,
        pods: inf.pods,
        pod_index: inf.pod_index,
        replicasets: inf.replicasets,
        deployments: inf.deployments,
        nodes: inf.nodes,
        leases: inf.leases,
        namespaces: inf.namespaces,
    });
    tokio::join!(
        start_replicasets(ctx.clone(), q.replicasets.clone()),
        start_deployments(ctx.clone(), q.deployments.clone()),
        start_namespaces(ctx.clone(), q.namespaces.clone()),
        nodelifecycle::run(ctx.clone()),
        gc::run(client),
        resync(ctx, q),
    );
    for t in inf.tasks {
        t.abort();
    }
}

/// Starts one informer per kind, wired to the queues, and waits for their first lists.
async fn start_informers(client: &kube::Client, q: &Queues) -> Informers {
    let (replicasets, t1) = informer::spawn(
        Api::<ReplicaSet>::all(client.clone()),
        replicaset_handlers(q),
    );
    let pod_index = PodIndex::default();
    let rebuild: OnSynced<Pod> = {
        let ix = pod_index.clone();
        Arc::new(move |all: &[Arc<Pod>]| ix.rebuild(all))
    };
    let (pods, t2) = informer::spawn_indexed(
        Api::<Pod>::all(client.clone()),
        pod_handlers(&pod_index, q, &replicasets),
        Some(rebuild),
    );
    let d_handlers: Vec<Handler<Deployment>> = vec![{
        let dq = q.deployments.clone();
        Arc::new(move |d: &Deployment, _| dq.add(key_of(d)))
    }];
    let (deployments, t3) = informer::spawn(Api::<Deployment>::all(client.clone()), d_handlers);
    let (nodes, t4) = informer::spawn(Api::<Node>::all(client.clone()), Vec::new());
    let (leases, t5) = informer::spawn(
        Api::<Lease>::namespaced(client.clone(), "kube-node-lease"),
        Vec::new(),
    );
    let ns_handlers: Vec<Handler<Namespace>> = vec![{
        let nsq = q.namespaces.clone();
        Arc::new(move |n: &Namespace, deleted| {
            if !deleted {
                nsq.add(key_of(n));
            }
        })
    }];
    let (namespaces, t6) = informer::spawn(Api::<Namespace>::all(client.clone()), ns_handlers);
    // A watch that never lists leaves its cache empty; the controllers start regardless.
    let _ = (
        replicasets.wait_until_ready().await,
        pods.wait_until_ready().await,
        deployments.wait_until_ready().await,
        nodes.wait_until_ready().await,
        namespaces.wait_until_ready().await,
        leases.wait_until_ready().await,
    );
    Informers {
        pods,
        pod_index,
        replicasets,
        deployments,
        nodes,
        leases,
        namespaces,
        tasks: vec![t1, t2, t3, t4, t5, t6],
    }
}

/// A ReplicaSet event queues the ReplicaSet and the Deployment controlling it.
fn replicaset_handlers(q: &Queues) -> Vec<Handler<ReplicaSet>> {
    let (rsq, dq) = (q.replicasets.clone(), q.deployments.clone());
    vec![Arc::new(move |rs: &ReplicaSet, _| {
        rsq.add(key_of(rs));
        if let (Some(o), Some(ns)) = (
            controller_ref(&rs.metadata),
            rs.metadata.namespace.as_deref(),
        ) {
            if o.kind == "Deployment" {
                dq.add(format!("{ns}/{}", o.name));
            }
        }
    })]
}

/// A pod event refiles the pod in the index and queues its ReplicaSet — or, for an orphan,
/// every ReplicaSet of the namespace whose selector matches it (a candidate for adoption).
fn pod_handlers(
    index: &PodIndex,
    q: &Queues,
    replicasets: &Store<ReplicaSet>,
) -> Vec<Handler<Pod>> {
    let ix = index.clone();
    let (rsq, rs_store) = (q.replicasets.clone(), replicasets.clone());
    vec![
        Arc::new(
            move |p: &Pod, deleted| {
                if deleted {
                    ix.delete(p)
                } else {
                    ix.apply(p)
                }
            },
        ),
        Arc::new(move |p: &Pod, _| {
            let ns = p.metadata.namespace.clone().unwrap_or_default();
            match controller_ref(&p.metadata) {
                Some(o) if o.kind == "ReplicaSet" => rsq.add(format!("{ns}/{}", o.name)),
                Some(_) => {}
                None => {
                    for rs in rs_store
                        .state()
                        .iter()
                        .filter(|r| r.metadata.namespace.as_deref() == Some(&ns))
                    {
                        if replicaset::logic::matches(rs, p) {
                            rsq.add(key_of(rs.as_ref()));
                        }
                    }
                }
            }
        }),
    ]
}

/// The ReplicaSet controller: 4 workers sharing one set of expectations.
async fn start_replicasets(ctx: Arc<Ctx>, q: WorkQueue) {
    let exp = Arc::new(Expectations::default());
    run_workers(q, 4, "replicaset", move |k| {
        replicaset::sync(ctx.clone(), exp.clone(), k)
    })
    .await
}

/// The Deployment controller: 2 workers.
async fn start_deployments(ctx: Arc<Ctx>, q: WorkQueue) {
    run_workers(q, 2, "deployment", move |k| {
        deployment::sync(ctx.clone(), k)
    })
    .await
}

/// The namespace controller: 2 workers.
async fn start_namespaces(ctx: Arc<Ctx>, q: WorkQueue) {
    run_workers(q, 2, "namespace", move |k| namespace::sync(ctx.clone(), k)).await
}

/// Periodic resync of namespaces (the default ServiceAccount may be deleted) and
/// deployments (progress deadlines, pods going away under Recreate).
async fn resync(ctx: Arc<Ctx>, q: Queues) {
    loop {
        tokio::time::sleep(Duration::from_secs(30)).await;
        for n in ctx.namespaces.state() {
            q.namespaces.add(key_of(n.as_ref()));
        }
        for d in ctx.deployments.state() {
            let ns = d.metadata.namespace.as_deref().unwrap_or("");
            let name = d.metadata.name.as_deref().unwrap_or("");
            if get(&ctx.deployments, ns, name).is_some() {
                q.deployments.add(key_of(d.as_ref()));
            }
        }
    }
}
