//! Handlers of the node API routes.
#![allow(clippy::result_large_err)]

use std::sync::Arc;

use axum::body::Body;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use k8s_cri::v1 as cri;
use k8s_openapi::api::core::v1::Pod;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::query;
use super::spdy_forward::{self, SPDY_PORTFORWARD};
use super::stream::{relay, CHANNEL_PROTOCOLS, PORTFORWARD_PROTOCOLS};
use super::AppState;
use crate::logs::{stream_file, LogOptions};
use crate::pod::runtime::{fetch, ContainerInfo, RuntimePod, State as CState};

fn err(code: StatusCode, msg: impl Into<String>) -> Response {
    (code, msg.into()).into_response()
}

/// GET /pods: the PodList of this node.
pub async fn pods(State(st): State<AppState>) -> Response {
    let items: Vec<Pod> = st.pods.all().iter().map(|p| (**p).clone()).collect();
    Json(serde_json::json!({
        "kind": "PodList",
        "apiVersion": "v1",
        "metadata": {},
        "items": items,
    }))
    .into_response()
}

async fn locate(st: &AppState, ns: &str, pod: &str) -> Result<(Arc<Pod>, RuntimePod), Response> {
    let p = st
        .pods
        .find(ns, pod)
        .ok_or_else(|| err(StatusCode::NOT_FOUND, format!("pod \"{pod}\" not found")))?;
    let uid = p.metadata.uid.clone().unwrap_or_default();
    let rt = fetch(st.cri.as_ref(), &uid)
        .await
        .map_err(|e| err(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok((p, rt))
}

fn running(rt: &RuntimePod, pod: &str, container: &str) -> Result<ContainerInfo, Response> {
    rt.containers
        .iter()
        .find(|c| c.name == container && c.state == CState::Running)
        .cloned()
        .ok_or_else(|| {
            err(
                StatusCode::NOT_FOUND,
                format!("container \"{container}\" in pod \"{pod}\" is not running"),
            )
        })
}

/// GET /containerLogs/{ns}/{pod}/{container}.
pub async fn logs(
    State(st): State<AppState>,
    Path((ns, pod, container)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    let q = query::pairs(q.as_deref());
    let (p, rt) = match locate(&st, &ns, &pod).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let previous = query::flag(&q, "previous");
    let inst = if previous {
        rt.previous(&container).cloned()
    } else {
        rt.latest(&container).cloned()
    };
    let Some(inst) = inst else {
        let msg = if previous {
            format!("previous terminated container \"{container}\" in pod \"{pod}\" not found")
        } else {
            let reason = p
                .status
                .as_ref()
                .and_then(|s| {
                    s.container_statuses
                        .iter()
                        .flatten()
                        .chain(s.init_container_statuses.iter().flatten())
                        .find(|c| c.name == container)
                        .and_then(|c| c.state.as_ref()?.waiting.as_ref()?.reason.clone())
                })
                .unwrap_or_else(|| "ContainerCreating".into());
            format!("container \"{container}\" in pod \"{pod}\" is waiting to start: {reason}")
        };
        return err(StatusCode::BAD_REQUEST, msg);
    };
    let since = query::get(&q, "sinceTime")
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|d| d.with_timezone(&Utc))
        .or_else(|| {
            query::get(&q, "sinceSeconds")
                .and_then(|s| s.parse::<i64>().ok())
                .map(|s| Utc::now() - chrono::Duration::seconds(s))
        });
    let opts = LogOptions {
        follow: query::flag(&q, "follow") && !previous,
        tail_lines: query::get(&q, "tailLines").and_then(|t| t.parse().ok()),
        since,
        timestamps: query::flag(&q, "timestamps"),
        limit_bytes: query::get(&q, "limitBytes").and_then(|t| t.parse().ok()),
    };
    let path = {
        let lp = std::path::PathBuf::from(&inst.log_path);
        if lp.is_absolute() {
            lp
        } else {
            std::path::PathBuf::from(crate::pod::log_dir_of(&st.cfg, &p)).join(lp)
        }
    };
    let (tx, rx) = mpsc::channel(64);
    let cri = st.cri.clone();
    let id = inst.id.clone();
    tokio::spawn(stream_file(path, opts, tx, move || {
        let cri = cri.clone();
        let id = id.clone();
        async move {
            cri.container_status(&id)
                .await
                .map(|s| s.state == cri::ContainerState::ContainerRunning as i32)
                .unwrap_or(false)
        }
    }));
    Response::builder()
        .header("Content-Type", "text/plain")
        .body(Body::from_stream(ReceiverStream::new(rx)))
        .unwrap_or_else(|_| err(StatusCode::INTERNAL_SERVER_ERROR, "response"))
}

type WsResult = Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>;

fn pick_protocol(ws: &WebSocketUpgrade) -> Option<String> {
    ws.selected_protocol()
        .and_then(|p| p.to_str().ok())
        .map(str::to_string)
}

async fn exec_or_attach(
    st: AppState,
    ns: String,
    pod: String,
    container: String,
    q: Option<String>,
    ws: Option<WebSocketUpgrade>,
    attach: bool,
) -> Response {
    let Some(ws) = ws else {
        return err(
            StatusCode::BAD_REQUEST,
            "only WebSocket streaming (v5.channel.k8s.io, v4.channel.k8s.io) is supported",
        );
    };
    let q = query::pairs(q.as_deref());
    let (_, rt) = match locate(&st, &ns, &pod).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let c = match running(&rt, &pod, &container) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let tty = query::flag(&q, "tty");
    let stdin = query::flag(&q, "input") || query::flag(&q, "stdin");
    let stdout = query::flag(&q, "output") || query::flag(&q, "stdout");
    let stderr = (query::flag(&q, "error") || query::flag(&q, "stderr")) && !tty;
    let url = if attach {
        st.cri
            .attach(cri::AttachRequest {
                container_id: c.id.clone(),
                stdin,
                tty,
                stdout,
                stderr,
            })
            .await
    } else {
        let cmd = query::all(&q, "command");
        if cmd.is_empty() {
            return err(
                StatusCode::BAD_REQUEST,
                "you must specify at least 1 command",
            );
        }
        st.cri
            .exec(cri::ExecRequest {
                container_id: c.id.clone(),
                cmd,
                tty,
                stdin,
                stdout,
                stderr,
            })
            .await
    };
    let url = match url {
        Ok(u) => u,
        Err(e) => return err(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let ws = ws.protocols(CHANNEL_PROTOCOLS);
    let proto = pick_protocol(&ws);
    ws.on_upgrade(move |socket| relay(socket, url, proto))
}

/// /exec/{ns}/{pod}/{container}.
pub async fn exec(
    State(st): State<AppState>,
    Path((ns, pod, container)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
    ws: WsResult,
) -> Response {
    exec_or_attach(st, ns, pod, container, q, ws.ok(), false).await
}

/// /exec/{ns}/{pod}/{uid}/{container}.
pub async fn exec_uid(
    State(st): State<AppState>,
    Path((ns, pod, _uid, container)): Path<(String, String, String, String)>,
    RawQuery(q): RawQuery,
    ws: WsResult,
) -> Response {
    exec_or_attach(st, ns, pod, container, q, ws.ok(), false).await
}

/// /attach/{ns}/{pod}/{container}.
pub async fn attach(
    State(st): State<AppState>,
    Path((ns, pod, container)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
    ws: WsResult,
) -> Response {
    exec_or_attach(st, ns, pod, container, q, ws.ok(), true).await
}

/// /attach/{ns}/{pod}/{uid}/{container}.
pub async fn attach_uid(
    State(st): State<AppState>,
    Path((ns, pod, _uid, container)): Path<(String, String, String, String)>,
    RawQuery(q): RawQuery,
    ws: WsResult,
) -> Response {
    exec_or_attach(st, ns, pod, container, q, ws.ok(), true).await
}

async fn forward(
    st: AppState,
    ns: String,
    pod: String,
    q: Option<String>,
    ws: Option<WebSocketUpgrade>,
) -> Response {
    let Some(ws) = ws else {
        return err(
            StatusCode::BAD_REQUEST,
            "only WebSocket port forwarding (v2.portforward.k8s.io) is supported",
        );
    };
    let q = query::pairs(q.as_deref());
    let (_, rt) = match locate(&st, &ns, &pod).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some(sb) = rt.sandbox().filter(|s| s.ready) else {
        return err(
            StatusCode::NOT_FOUND,
            format!("pod \"{pod}\" has no running sandbox"),
        );
    };
    let ws = ws.protocols([
        SPDY_PORTFORWARD,
        PORTFORWARD_PROTOCOLS[0],
        PORTFORWARD_PROTOCOLS[1],
    ]);
    if pick_protocol(&ws).as_deref() == Some(SPDY_PORTFORWARD) {
        let (cri, sandbox) = (st.cri.clone(), sb.id.clone());
        return ws.on_upgrade(move |socket| spdy_forward::serve(socket, cri, sandbox));
    }
    let ports: Vec<i32> = query::all(&q, "ports")
        .iter()
        .flat_map(|p| p.split(',').map(str::to_string).collect::<Vec<_>>())
        .filter_map(|p| p.trim().parse().ok())
        .collect();
    let url = match st.cri.port_forward(&sb.id, ports).await {
        Ok(u) => u,
        Err(e) => return err(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let proto = pick_protocol(&ws);
    let target = match url.split_once('?') {
        Some(_) => url,
        None if !q.is_empty() => {
            let qs: Vec<String> = q
                .iter()
                .filter(|(k, _)| k == "ports")
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            format!("{url}?{}", qs.join("&"))
        }
        None => url,
    };
    ws.on_upgrade(move |socket| relay(socket, target, proto))
}

/// /portForward/{ns}/{pod}.
pub async fn port_forward(
    State(st): State<AppState>,
    Path((ns, pod)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    ws: WsResult,
) -> Response {
    forward(st, ns, pod, q, ws.ok()).await
}

/// /portForward/{ns}/{pod}/{uid}.
pub async fn port_forward_uid(
    State(st): State<AppState>,
    Path((ns, pod, _uid)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
    ws: WsResult,
) -> Response {
    forward(st, ns, pod, q, ws.ok()).await
}
