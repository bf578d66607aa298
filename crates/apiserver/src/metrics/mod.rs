//! The API server's Prometheus metrics, in upstream's names and labels: requests
//! (`apiserver_request_total`, `apiserver_request_duration_seconds`), open watches and
//! streams (`apiserver_longrunning_requests`) and store latency
//! (`etcd_request_duration_seconds`); and `GET /metrics`, which shows the process-wide
//! registry (so the embedded scheduler's and kubelet's figures too).

mod labels;
mod store;

pub use labels::RequestLabels;
pub use store::MeasuredStore;

use crate::httputil::{bytes_response, Resp};
use crate::path::{self, Route};
use http::StatusCode;
use skiff_metrics::{CounterVec, GaugeVec, HistogramVec};
use std::time::Duration;

/// Always `apiserver` here (upstream also reports aggregated servers).
const COMPONENT: &str = "apiserver";

/// The request metric families.
#[derive(Clone)]
pub struct ApiMetrics {
    requests: CounterVec,
    latency: HistogramVec,
    longrunning: GaugeVec,
}

impl ApiMetrics {
    /// The families, in the process-wide registry.
    pub fn register() -> ApiMetrics {
        let r = skiff_metrics::global();
        ApiMetrics {
            requests: r.counter_vec(
                "apiserver_request_total",
                "Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.",
                &["verb", "dry_run", "group", "version", "resource", "subresource", "scope", "component", "code"],
            ),
            latency: r.histogram_vec(
                "apiserver_request_duration_seconds",
                "Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.",
                &["verb", "dry_run", "group", "version", "resource", "subresource", "scope", "component"],
                store::LATENCY_BUCKETS,
            ),
            longrunning: r.gauge_vec(
                "apiserver_longrunning_requests",
                "Gauge of all active long-running apiserver requests broken out by verb, group, version, resource, scope and component. Not all requests are tracked this way.",
                &["verb", "group", "version", "resource", "subresource", "scope", "component"],
            ),
        }
    }

    fn longrunning_labels(l: &RequestLabels) -> [&str; 7] {
        [
            &l.verb,
            &l.group,
            &l.version,
            &l.resource,
            &l.subresource,
            l.scope,
            COMPONENT,
        ]
    }
}

impl skiff_http::RequestMetrics for ApiMetrics {
    type Class = RequestLabels;

    fn classify(&self, req: &http::request::Parts) -> Option<RequestLabels> {
        let parsed;
        let route = match req.extensions.get::<Route>() {
            Some(r) => r,
            None => {
                parsed = path::parse(req.uri.path());
                &parsed
            }
        };
        RequestLabels::of(route, &req.method, &req.uri, &req.headers)
    }

    fn long_running(&self, class: &RequestLabels) -> bool {
        class.long_running()
    }

    fn on_request(&self, l: &RequestLabels) {
        if l.long_running() {
            self.longrunning.inc(&Self::longrunning_labels(l));
        }
    }

    fn on_response(&self, l: &RequestLabels, status: StatusCode, elapsed: Duration) {
        let code = status.as_str();
        let base = [
            l.verb.as_str(),
            &l.dry_run,
            &l.group,
            &l.version,
            &l.resource,
            &l.subresource,
            l.scope,
            COMPONENT,
        ];
        let mut with_code = base.to_vec();
        with_code.push(code);
        self.requests.inc(&with_code);
        self.latency.observe(&base, elapsed.as_secs_f64());
        if l.long_running() {
            self.longrunning.dec(&Self::longrunning_labels(l));
        }
    }
}

/// `GET /metrics`: every family of the process, in the text format 0.0.4.
pub fn respond() -> Resp {
    bytes_response(
        200,
        skiff_metrics::CONTENT_TYPE,
        skiff_metrics::global().render(),
    )
}
