//! The CRI server: `serve` starts the streaming server and the gRPC `RuntimeService` and
//! `ImageService` (implemented in `runtime_service` and `image_service` on top of the runtime
//! core and the image source) on a unix socket.

mod image_service;
mod runtime_service;
mod stats;

use std::future::Future;
use std::sync::Arc;

use k8s_cri::v1::image_service_server::ImageServiceServer;
use k8s_cri::v1::runtime_service_server::RuntimeServiceServer;
use tokio_stream::wrappers::UnixListenerStream;
use tonic::{Response, Status};

use crate::config::RuntimeConfig;
use crate::error::{RuntimeError, ServeError};
use crate::runtime::Runtime;
use crate::streaming::Streams;

/// The CRI service object.
#[derive(Clone)]
struct CriService {
    /// Runtime core.
    rt: Arc<Runtime>,
}

type R<T> = Result<Response<T>, Status>;

fn ok<T>(v: T) -> R<T> {
    Ok(Response::new(v))
}

/// Serve CRI on `cfg.socket` until `shutdown` resolves. Containers keep running
/// afterwards (their monitors are separate processes).
pub async fn serve(
    cfg: RuntimeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let streams = Streams::new();
    let socket = cfg.socket.clone();
    let rt = Runtime::open(cfg, streams.clone())?;
    let addr = streams
        .start(
            rt.oci.clone(),
            rt.cfg.helper_exe.clone(),
            rt.layout.streams_dir(),
        )
        .await?;
    if let Some(dir) = socket.parent() {
        std::fs::create_dir_all(dir).map_err(RuntimeError::io("socket dir"))?;
    }
    let _ = std::fs::remove_file(&socket);
    let listener = tokio::net::UnixListener::bind(&socket)
        .map_err(RuntimeError::io(format!("binding {}", socket.display())))?;
    tracing::info!(socket = %socket.display(), streaming = %addr, "CRI runtime serving");
    let svc = CriService { rt };
    let result = tonic::transport::Server::builder()
        .add_service(RuntimeServiceServer::new(svc.clone()))
        .add_service(ImageServiceServer::new(svc))
        .serve_with_incoming_shutdown(UnixListenerStream::new(listener), shutdown)
        .await;
    let _ = std::fs::remove_file(&socket);
    result.map_err(|e| RuntimeError::Transport(e.to_string()).into())
}
