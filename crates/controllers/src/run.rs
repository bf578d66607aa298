//! Starts the informers and every controller, under leader election.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use kube::api::Api;
use tracing::info;

use crate::config::{ControllersConfig, ControllersError};
use crate::context::{get, key_of, Ctx, Expectations};
use crate::events::Recorder;
use crate::informer::{self, Handler, OnSynced};
use crate::leader::{run_elected, LeaseLock};
use crate::podindex::PodIndex;
use crate::workqueue::{run_workers, WorkQueue};
use crate::{deployment, gc, namespace, nodelifecycle, replicaset};
use skiff_api::owner::controller_ref;

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

async fn run_all(client: kube::Client, cfg: ControllersConfig) {
    info!("controllers starting");
    let (rsq, dq, nsq) = (
        WorkQueue::default(),
        WorkQueue::default(),
        WorkQueue::default(),
    );

    // ReplicaSets: enqueue self and owning deployment.
    let rs_handlers: Vec<Handler<ReplicaSet>> = vec![{
        let (rsq, dq) = (rsq.clone(), dq.clone());
        Arc::new(move |rs: &ReplicaSet, _| {
            rsq.add(key_of(rs));
            if let (Some(o), Some(ns)) = (
                controller_ref(&rs.metadata),
                rs.metadata.namespace.as_deref(),
            ) {
                if o.kind == "Deployment" {
                    dq.add(format!("{ns}/{}", o.name));
                }
            }
        })
    }];
    let (replicasets, t1) = informer::spawn(Api::<ReplicaSet>::all(client.clone()), rs_handlers);

    let pod_index = PodIndex::default();
    let pod_handlers: Vec<Handler<Pod>> = vec![
        {
            let ix = pod_index.clone();
            Arc::new(
                move |p: &Pod, deleted| {
                    if deleted {
                        ix.delete(p)
                    } else {
                        ix.apply(p)
                    }
                },
            )
        },
        {
            let (rsq, rs_store) = (rsq.clone(), replicasets.clone());
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
            })
        },
    ];
    let rebuild: OnSynced<Pod> = {
        let ix = pod_index.clone();
        Arc::new(move |all: &[Arc<Pod>]| ix.rebuild(all))
    };
    let (pods, t2) =
        informer::spawn_indexed(Api::<Pod>::all(client.clone()), pod_handlers, Some(rebuild));
    let d_handlers: Vec<Handler<Deployment>> = vec![{
        let dq = dq.clone();
        Arc::new(move |d: &Deployment, _| dq.add(key_of(d)))
    }];
    let (deployments, t3) = informer::spawn(Api::<Deployment>::all(client.clone()), d_handlers);
    let (nodes, t4) = informer::spawn(Api::<Node>::all(client.clone()), Vec::new());
    let (leases, t5) = informer::spawn(
        Api::<Lease>::namespaced(client.clone(), "kube-node-lease"),
        Vec::new(),
    );
    let ns_handlers: Vec<Handler<Namespace>> = vec![{
        let nsq = nsq.clone();
        Arc::new(move |n: &Namespace, deleted| {
            if !deleted {
                nsq.add(key_of(n));
            }
        })
    }];
    let (namespaces, t6) = informer::spawn(Api::<Namespace>::all(client.clone()), ns_handlers);
    for s in [
        replicasets.wait_until_ready().await.is_ok(),
        pods.wait_until_ready().await.is_ok(),
        deployments.wait_until_ready().await.is_ok(),
    ] {
        let _ = s;
    }
    let _ = (
        nodes.wait_until_ready().await,
        namespaces.wait_until_ready().await,
        leases.wait_until_ready().await,
    );

    let ctx = Arc::new(Ctx {
        recorder: Recorder::new(client.clone(), "controller-manager", &cfg.identity),
        client: client.clone(),
        cfg,
        pods,
        pod_index,
        replicasets,
        deployments,
        nodes,
        leases,
        namespaces,
    });
    // Deployment pods going away matter to Recreate: poke the owner via the RS.
    let exp = Arc::new(Expectations::default());
    let rs_ctx = ctx.clone();
    let rs_task = run_workers(rsq, 4, "replicaset", move |k| {
        replicaset::sync(rs_ctx.clone(), exp.clone(), k)
    });
    let d_ctx = ctx.clone();
    let d_task = run_workers(dq.clone(), 2, "deployment", move |k| {
        deployment::sync(d_ctx.clone(), k)
    });
    let n_ctx = ctx.clone();
    let ns_task = run_workers(nsq.clone(), 2, "namespace", move |k| {
        namespace::sync(n_ctx.clone(), k)
    });
    // Periodic resync of namespaces (default ServiceAccount may be deleted) and deployments.
    let resync_ctx = ctx.clone();
    let resync = async move {
        loop {
            tokio::time::sleep(Duration::from_secs(30)).await;
            for n in resync_ctx.namespaces.state() {
                nsq.add(key_of(n.as_ref()));
            }
            for d in resync_ctx.deployments.state() {
                if get(
                    &resync_ctx.deployments,
                    d.metadata.namespace.as_deref().unwrap_or(""),
                    d.metadata.name.as_deref().unwrap_or(""),
                )
                .is_some()
                {
                    dq.add(key_of(d.as_ref()));
                }
            }
        }
    };
    tokio::join!(
        rs_task,
        d_task,
        ns_task,
        nodelifecycle::run(ctx.clone()),
        gc::run(client),
        resync
    );
    for t in [t1, t2, t3, t4, t5, t6] {
        t.abort();
    }
}
