//! The streaming server: one-time URLs handed out by Exec/Attach/PortForward and
//! served over WebSocket on 127.0.0.1 (the kubelet relays the frames).

mod attach;
mod channel;
mod exec;
mod portforward;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{Path, State, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use http::StatusCode;

use crate::error::RuntimeError;
use crate::oci::OciRuntime;

/// How long a one-time URL stays valid.
const TOKEN_TTL: Duration = Duration::from_secs(60);

/// A prepared streaming request.
#[derive(Clone, Debug)]
pub(crate) enum StreamRequest {
    /// Run a command in a container.
    Exec {
        /// Container id.
        container_id: String,
        /// Command.
        cmd: Vec<String>,
        /// Allocate a TTY.
        tty: bool,
        /// Stream stdin.
        stdin: bool,
    },
    /// Attach to a running container's stdio (through its monitor).
    Attach {
        /// The monitor's attach socket.
        socket: PathBuf,
        /// Forward stdin.
        stdin: bool,
        /// Stream stdout.
        stdout: bool,
        /// Stream stderr.
        stderr: bool,
    },
    /// Forward TCP ports of a pod.
    PortForward {
        /// The pod's network namespace.
        netns: PathBuf,
        /// Ports allowed (empty = any given in the URL).
        ports: Vec<u16>,
    },
}

/// Registry of pending streaming sessions plus what the handlers need.
pub(crate) struct Streams {
    tokens: Mutex<HashMap<String, (Instant, StreamRequest)>>,
    addr: OnceLock<SocketAddr>,
    oci: OnceLock<Arc<dyn OciRuntime>>,
    helper_exe: OnceLock<PathBuf>,
    scratch: OnceLock<PathBuf>,
}

impl Streams {
    /// Empty registry.
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Streams {
            tokens: Mutex::default(),
            addr: OnceLock::new(),
            oci: OnceLock::new(),
            helper_exe: OnceLock::new(),
            scratch: OnceLock::new(),
        })
    }

    /// Register a request; returns its one-time URL.
    pub(crate) fn register(&self, req: StreamRequest) -> Result<String, RuntimeError> {
        let addr = self
            .addr
            .get()
            .ok_or_else(|| RuntimeError::Internal("streaming server not running".into()))?;
        let token = crate::state::new_id()[..32].to_string();
        let kind = match req {
            StreamRequest::Exec { .. } => "exec",
            StreamRequest::Attach { .. } => "attach",
            StreamRequest::PortForward { .. } => "portforward",
        };
        let mut map = self
            .tokens
            .lock()
            .map_err(|_| RuntimeError::Internal("stream table poisoned".into()))?;
        let now = Instant::now();
        map.retain(|_, (t, _)| now.duration_since(*t) < TOKEN_TTL);
        map.insert(token.clone(), (now, req));
        Ok(format!("http://{addr}/{kind}/{token}"))
    }

    fn take(&self, token: &str) -> Option<StreamRequest> {
        let mut map = self.tokens.lock().ok()?;
        let (t, req) = map.remove(token)?;
        (t.elapsed() < TOKEN_TTL).then_some(req)
    }

    /// Bind 127.0.0.1:0 and serve until the process ends.
    pub(crate) async fn start(
        self: &Arc<Self>,
        oci: Arc<dyn OciRuntime>,
        helper_exe: PathBuf,
        scratch: PathBuf,
    ) -> Result<SocketAddr, RuntimeError> {
        let _ = self.oci.set(oci);
        let _ = self.helper_exe.set(helper_exe);
        let _ = std::fs::create_dir_all(&scratch);
        let _ = self.scratch.set(scratch);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(RuntimeError::io("binding streaming server"))?;
        let addr = listener
            .local_addr()
            .map_err(RuntimeError::io("streaming server address"))?;
        let _ = self.addr.set(addr);
        let app = Router::new()
            .route("/exec/{token}", get(exec_handler))
            .route("/attach/{token}", get(attach_handler))
            .route("/portforward/{token}", get(portforward_handler))
            .with_state(self.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "streaming server stopped");
            }
        });
        Ok(addr)
    }
}

async fn exec_handler(
    State(streams): State<Arc<Streams>>,
    Path(token): Path<String>,
    ws: WebSocketUpgrade,
) -> Response {
    let Some(StreamRequest::Exec {
        container_id,
        cmd,
        tty,
        stdin,
    }) = streams.take(&token)
    else {
        return (StatusCode::NOT_FOUND, "unknown or expired session").into_response();
    };
    let (Some(oci), Some(helper), Some(scratch)) = (
        streams.oci.get(),
        streams.helper_exe.get(),
        streams.scratch.get(),
    ) else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let session = exec::ExecSession {
        oci: oci.clone(),
        helper_exe: helper.clone(),
        scratch: scratch.clone(),
        container_id,
        cmd,
        tty,
        stdin,
    };
    ws.protocols(channel::EXEC_PROTOCOLS)
        .on_upgrade(move |socket| session.run(socket))
}

async fn attach_handler(
    State(streams): State<Arc<Streams>>,
    Path(token): Path<String>,
    ws: WebSocketUpgrade,
) -> Response {
    let Some(StreamRequest::Attach {
        socket,
        stdin,
        stdout,
        stderr,
    }) = streams.take(&token)
    else {
        return (StatusCode::NOT_FOUND, "unknown or expired session").into_response();
    };
    let session = attach::AttachSession {
        socket,
        stdin,
        stdout,
        stderr,
    };
    ws.protocols(channel::EXEC_PROTOCOLS)
        .on_upgrade(move |socket| session.run(socket))
}

async fn portforward_handler(
    State(streams): State<Arc<Streams>>,
    Path(token): Path<String>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
    ws: WebSocketUpgrade,
) -> Response {
    let Some(StreamRequest::PortForward { netns, ports }) = streams.take(&token) else {
        return (StatusCode::NOT_FOUND, "unknown or expired session").into_response();
    };
    let mut wanted: Vec<u16> = query
        .unwrap_or_default()
        .split('&')
        .filter_map(|kv| kv.strip_prefix("port="))
        .filter_map(|p| p.parse().ok())
        .collect();
    if wanted.is_empty() {
        wanted = ports.clone();
    }
    if wanted.is_empty() || (!ports.is_empty() && wanted.iter().any(|p| !ports.contains(p))) {
        return (StatusCode::BAD_REQUEST, "no or unexpected ports").into_response();
    }
    ws.protocols(channel::PORTFORWARD_PROTOCOLS)
        .on_upgrade(move |socket| portforward::run(socket, netns, wanted))
}
