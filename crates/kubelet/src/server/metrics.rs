//! The kubelet's Prometheus metrics, in upstream's names: requests to the node API
//! (`kubelet_http_requests_total`, `kubelet_http_requests_duration_seconds`) and, read
//! from the runtime at each scrape, `kubelet_running_pods` and
//! `kubelet_running_containers`. `GET /metrics` shows the process-wide registry.

use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use k8s_cri::v1 as cri;
use skiff_metrics::{CounterVec, HistogramVec};

use super::AppState;
use crate::cri::labels;

/// Prometheus' default buckets (upstream's kubelet uses them for request durations).
const DEFAULT_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Paths whose requests stream until the client or the container ends them.
const LONG_RUNNING: &[&str] = &["exec", "attach", "portForward", "debug"];

/// The node API's request families.
#[derive(Clone)]
pub struct HttpMetrics {
    requests: CounterVec,
    duration: HistogramVec,
}

impl HttpMetrics {
    /// The families, in the process-wide registry.
    pub fn register() -> HttpMetrics {
        let r = skiff_metrics::global();
        let labels = ["method", "path", "server_type", "long_running"];
        HttpMetrics {
            requests: r.counter_vec(
                "kubelet_http_requests_total",
                "Number of the http requests received since the server started",
                &labels,
            ),
            duration: r.histogram_vec(
                "kubelet_http_requests_duration_seconds",
                "Duration in seconds to serve http requests",
                &labels,
                DEFAULT_BUCKETS,
            ),
        }
    }
}

/// Upstream's `getURLRootPath`: the first path segment, or `metrics/<x>` below /metrics.
fn root_path(path: &str) -> String {
    let parts: Vec<&str> = path.trim_start_matches('/').splitn(3, '/').collect();
    match parts.as_slice() {
        ["metrics", sub, ..] => format!("metrics/{sub}"),
        [first, ..] => (*first).to_string(),
        [] => path.to_string(),
    }
}

/// How a node API request is labelled.
pub struct Class {
    method: String,
    path: String,
    long_running: bool,
}

impl Class {
    fn labels(&self) -> [&str; 4] {
        let long = if self.long_running { "true" } else { "false" };
        [&self.method, &self.path, "readwrite", long]
    }
}

impl skiff_http::RequestMetrics for HttpMetrics {
    type Class = Class;

    fn classify(&self, req: &http::request::Parts) -> Option<Class> {
        let path = root_path(req.uri.path());
        Some(Class {
            method: req.method.to_string(),
            long_running: LONG_RUNNING.contains(&path.as_str()),
            path,
        })
    }

    fn long_running(&self, class: &Class) -> bool {
        class.long_running
    }

    fn on_request(&self, class: &Class) {
        self.requests.inc(&class.labels());
    }

    fn on_response(&self, class: &Class, _status: http::StatusCode, elapsed: Duration) {
        self.duration
            .observe(&class.labels(), elapsed.as_secs_f64());
    }
}

/// Sets the running pod and container gauges from the runtime (the kubelet's own only).
async fn count_running(st: &AppState) {
    let r = skiff_metrics::global();
    let pods = r.gauge_vec(
        "kubelet_running_pods",
        "Number of pods that have a running pod sandbox",
        &[],
    );
    let containers = r.gauge_vec(
        "kubelet_running_containers",
        "Number of containers currently running",
        &["container_state"],
    );
    if let Ok(sandboxes) = st.cri.list_pod_sandbox().await {
        let ready = sandboxes
            .iter()
            .filter(|s| s.labels.contains_key(labels::POD_UID))
            .filter(|s| s.state == cri::PodSandboxState::SandboxReady as i32)
            .count();
        pods.set(&[], ready as f64);
    }
    if let Ok(list) = st.cri.list_containers().await {
        let mut counts = [0usize; 4];
        for c in list
            .iter()
            .filter(|c| c.labels.contains_key(labels::POD_UID))
        {
            let i = match cri::ContainerState::try_from(c.state) {
                Ok(cri::ContainerState::ContainerCreated) => 0,
                Ok(cri::ContainerState::ContainerRunning) => 1,
                Ok(cri::ContainerState::ContainerExited) => 2,
                _ => 3,
            };
            counts[i] += 1;
        }
        for (state, n) in ["created", "running", "exited", "unknown"]
            .iter()
            .zip(counts)
        {
            containers.set(&[state], n as f64);
        }
    }
}

/// GET /metrics.
pub async fn scrape(State(st): State<AppState>) -> Response {
    count_running(&st).await;
    (
        [(header::CONTENT_TYPE, skiff_metrics::CONTENT_TYPE)],
        skiff_metrics::global().render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_paths_as_upstream() {
        let cases = [
            ("/exec/ns/pod/c", "exec"),
            ("/portForward/ns/pod", "portForward"),
            ("/stats/summary", "stats"),
            ("/metrics", "metrics"),
            ("/metrics/cadvisor", "metrics/cadvisor"),
            ("/pods/", "pods"),
            ("/", ""),
        ];
        for (path, want) in cases {
            assert_eq!(root_path(path), want, "{path}");
        }
    }
}
