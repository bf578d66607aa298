//! Starting and stopping the HTTPS API server: configuration, token, PKI, bootstrap
//! objects, then serving [`crate::stack`] on the shared HTTPS loop.

use crate::ipalloc::Cidr;
use crate::pki::{Pki, PkiError};
use crate::state::State;
use crate::strategy::Strategies;
use crate::tlsconf::{self, TlsError};
use base64::Engine;
use skiff_store::Store;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How to run the API server.
pub struct ApiServerConfig {
    /// The data dir; `<data_dir>/server` belongs to the API server.
    pub data_dir: PathBuf,
    /// Address to listen on.
    pub bind_address: IpAddr,
    /// Port (0 = pick a free one).
    pub port: u16,
    /// The backing store.
    pub store: Arc<dyn Store>,
    /// Extra DNS names / IPs for the serving certificate.
    pub tls_sans: Vec<String>,
    /// Service CIDR, e.g. `10.43.0.0/16`.
    pub service_cidr: String,
    /// Admin token; generated and kept in `server/token` when `None`.
    pub token: Option<String>,
    /// Tolerations admission adds to new pods (`--default-*-toleration-seconds`).
    pub default_tolerations: crate::admission::DefaultTolerations,
}

/// Why the server could not start or issue a certificate.
#[derive(Debug, thiserror::Error)]
pub enum ApiServerError {
    /// Filesystem trouble under the data dir.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Binding the listener failed.
    #[error("listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// Certificates.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// TLS configuration.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// Bad service CIDR.
    #[error(transparent)]
    Cidr(#[from] crate::ipalloc::CidrError),
    /// Bootstrap objects could not be written.
    #[error("bootstrap: {0}")]
    Bootstrap(String),
}

/// A listening API server.
pub struct RunningApiServer {
    state: Arc<State>,
    port: u16,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

fn load_token(dir: &std::path::Path, given: Option<String>) -> Result<String, ApiServerError> {
    let path = dir.join("token");
    let io = |source| ApiServerError::Io {
        path: path.clone(),
        source,
    };
    let token = match given {
        Some(t) => t,
        None => match std::fs::read_to_string(&path) {
            Ok(t) if !t.trim().is_empty() => return Ok(t.trim().to_string()),
            _ => {
                let bytes: [u8; 24] = rand::random();
                bytes.iter().map(|b| format!("{b:02x}")).collect()
            }
        },
    };
    std::fs::write(&path, format!("{token}\n")).map_err(io)?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    Ok(token)
}

/// Starts the API server; returns once it is listening.
pub async fn start(cfg: ApiServerConfig) -> Result<RunningApiServer, ApiServerError> {
    let dir = cfg.data_dir.join("server");
    std::fs::create_dir_all(&dir).map_err(|source| ApiServerError::Io {
        path: dir.clone(),
        source,
    })?;
    let cidr = Cidr::parse(&cfg.service_cidr)?;
    let service_ip = cidr.nth(1).to_string();
    let mut sans = cfg.tls_sans.clone();
    if !cfg.bind_address.is_unspecified() && !cfg.bind_address.is_loopback() {
        sans.push(cfg.bind_address.to_string());
    }
    let tls_dir = dir.join("tls");
    let pki =
        tokio::task::spawn_blocking(move || Pki::load_or_create(&tls_dir, &service_ip, &sans))
            .await
            .map_err(|e| ApiServerError::Bootstrap(e.to_string()))??;
    let token = load_token(&dir, cfg.token.clone())?;
    let server_cfg = tlsconf::server_config(
        &pki.ca_cert_pem,
        &pki.serving_cert_pem,
        &pki.serving_key_pem,
    )?;
    let kubelet_tls =
        tlsconf::kubelet_client_config(&pki.kubelet_client_cert_pem, &pki.kubelet_client_key_pem)?;
    let addr = SocketAddr::new(cfg.bind_address, cfg.port);
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ApiServerError::Bind { addr, source })?;
    let port = listener
        .local_addr()
        .map_err(|source| ApiServerError::Bind { addr, source })?
        .port();
    let advertise = if cfg.bind_address.is_unspecified() {
        "127.0.0.1".to_string()
    } else {
        cfg.bind_address.to_string()
    };
    let state = Arc::new(State {
        store: crate::metrics::MeasuredStore::wrap(cfg.store),
        pki,
        token,
        server_address: format!("{advertise}:{port}"),
        service_cidr: cidr,
        strategies: Strategies::new(cfg.default_tolerations, cidr),
        watches: Default::default(),
        kubelet_tls: Arc::new(kubelet_tls),
    });
    crate::bootstrap::run(&state, port)
        .await
        .map_err(|e| ApiServerError::Bootstrap(e.message))?;
    let (shutdown, rx) = watch::channel(false);
    let task = skiff_http::serve(
        listener,
        Arc::new(server_cfg),
        crate::stack::service(state.clone()),
        Default::default(),
        rx,
    );
    tracing::info!(port, "API server listening");
    Ok(RunningApiServer {
        state,
        port,
        shutdown,
        task,
    })
}

impl RunningApiServer {
    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// The port listened on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The cluster CA certificate (PEM).
    pub fn ca_pem(&self) -> String {
        self.state.pki.ca_cert_pem.clone()
    }

    /// The admin bearer token.
    pub fn admin_token(&self) -> String {
        self.state.token.clone()
    }

    /// A kubeconfig for the admin, pointing at `server_url`.
    pub fn kubeconfig_yaml(&self, server_url: &str) -> String {
        let ca =
            base64::engine::general_purpose::STANDARD.encode(self.state.pki.ca_cert_pem.as_bytes());
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: {ca}\n    server: {server_url}\n  name: default\ncontexts:\n- context:\n    cluster: default\n    user: default\n  name: default\ncurrent-context: default\npreferences: {{}}\nusers:\n- name: default\n  user:\n    token: {}\n",
            self.state.token
        )
    }

    /// Issues a certificate signed by the cluster CA, usable for serving (the SANs)
    /// and as a client certificate (CN `cn`).
    pub fn issue_serving_cert(
        &self,
        cn: &str,
        sans: &[String],
    ) -> Result<(String, String), ApiServerError> {
        Ok(self.state.pki.issue(cn, sans, false)?)
    }

    /// Stops accepting, ends open connections and returns.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}
