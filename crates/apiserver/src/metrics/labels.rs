//! The labels upstream's API server puts on a request's metrics (its `CleanVerb`,
//! `CanonicalVerb`, `CleanScope` and `cleanDryRun`): verb, dry_run, group, version,
//! resource, subresource and scope. Non-resource paths are labelled by their path in
//! `subresource`, as upstream does.

use crate::path::Route;
use crate::resources::find_resource;
use http::{header, HeaderMap, Method, Uri};

/// Subresources that stream (verb `CONNECT`).
const CONNECT: &[&str] = &["log", "exec", "portforward", "attach", "proxy"];

/// Verbs reported as they are; anything else is `other`.
const VALID_VERBS: &[&str] = &[
    "APPLY",
    "CONNECT",
    "CREATE",
    "DELETE",
    "DELETECOLLECTION",
    "GET",
    "LIST",
    "PATCH",
    "POST",
    "PROXY",
    "PUT",
    "UPDATE",
    "WATCH",
    "WATCHLIST",
];

/// How one request is labelled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestLabels {
    /// e.g. `GET`, `LIST`, `WATCH`, `POST`, `APPLY`, `CONNECT`.
    pub verb: String,
    /// `dryRun` values, sorted and joined (`invalid` when not `All`).
    pub dry_run: String,
    /// API group ("" for core and non-resource paths).
    pub group: String,
    /// API version.
    pub version: String,
    /// Resource plural.
    pub resource: String,
    /// Subresource, or the path of a non-resource request.
    pub subresource: String,
    /// `resource`, `namespace`, `cluster`, or "" for non-resource requests.
    pub scope: &'static str,
}

/// The first `watch` value turns a GET into a WATCH unless it is `0` or `false`.
fn watch_param(uri: &Uri) -> bool {
    let pairs = skiff_http::query::pairs(uri.query());
    pairs
        .iter()
        .find(|(k, _)| k == "watch")
        .is_some_and(|(_, v)| !matches!(v.to_ascii_lowercase().as_str(), "0" | "false"))
}

fn dry_run(uri: &Uri) -> String {
    let mut values: Vec<String> = skiff_http::query::pairs(uri.query())
        .into_iter()
        .filter(|(k, _)| k == "dryRun")
        .map(|(_, v)| v)
        .collect();
    if values.iter().any(|v| v != "All") {
        return "invalid".into();
    }
    values.dedup();
    values.join(",")
}

/// How a request asks to watch.
#[derive(Clone, Copy)]
struct Watch {
    /// The legacy `/watch/` path segment.
    path: bool,
    /// The `watch` query parameter.
    param: bool,
}

/// The reported verb: GET of a collection is LIST, `watch` makes WATCH, an apply patch
/// APPLY, a streaming subresource CONNECT.
fn verb(method: &Method, scope: &str, watch: Watch, apply: bool, sub: &str) -> String {
    if watch.path {
        return "WATCH".into();
    }
    let upper = method.as_str().to_ascii_uppercase();
    let mut v = match upper.as_str() {
        "GET" | "HEAD" if scope != "resource" && !scope.is_empty() => "LIST".to_string(),
        "GET" | "HEAD" => "GET".to_string(),
        _ => upper.clone(),
    };
    if watch.param && upper == "GET" {
        v = "WATCH".into();
    }
    if v == "PATCH" && apply {
        v = "APPLY".into();
    }
    if CONNECT.contains(&sub) {
        v = "CONNECT".into();
    }
    if VALID_VERBS.contains(&v.as_str()) {
        v
    } else {
        "other".into()
    }
}

impl RequestLabels {
    /// Labels a request; `None` for paths the server does not serve.
    pub fn of(route: &Route, method: &Method, uri: &Uri, headers: &HeaderMap) -> Option<Self> {
        let mut watch = Watch {
            path: false,
            param: watch_param(uri),
        };
        let rp = match route {
            Route::Resource(rp) => rp,
            Route::Unknown => return None,
            _ => {
                let path = uri.path().trim_end_matches('/');
                return Some(RequestLabels {
                    verb: verb(method, "", watch, false, ""),
                    dry_run: dry_run(uri),
                    group: String::new(),
                    version: String::new(),
                    resource: String::new(),
                    subresource: if path.is_empty() { "/" } else { path }.to_string(),
                    scope: "",
                });
            }
        };
        find_resource(&rp.group, &rp.version, &rp.plural)?;
        let scope = if rp.name.is_some() || *method == Method::POST {
            "resource"
        } else if rp.namespace.is_some() {
            "namespace"
        } else {
            "cluster"
        };
        let apply = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            == Some("application/apply-patch+yaml");
        let sub = rp.sub.clone().unwrap_or_default();
        watch.path = rp.watch;
        Some(RequestLabels {
            verb: verb(method, scope, watch, apply, &sub),
            dry_run: dry_run(uri),
            group: rp.group.clone(),
            version: rp.version.clone(),
            resource: rp.plural.clone(),
            subresource: sub,
            scope,
        })
    }

    /// Watches and streams run until their response body ends.
    pub fn long_running(&self) -> bool {
        self.verb == "WATCH"
            || (!self.resource.is_empty() && CONNECT.contains(&self.subresource.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::parse;

    fn labels(method: &str, uri: &str, content_type: Option<&str>) -> Option<RequestLabels> {
        let uri: Uri = uri.parse().unwrap();
        let mut headers = HeaderMap::new();
        if let Some(ct) = content_type {
            headers.insert(header::CONTENT_TYPE, ct.parse().unwrap());
        }
        let method: Method = method.parse().unwrap();
        RequestLabels::of(&parse(uri.path()), &method, &uri, &headers)
    }

    #[test]
    fn verbs_and_scopes_as_upstream() {
        // (method, uri, content type) → (verb, scope, subresource)
        let cases = [
            (
                "GET",
                "/api/v1/namespaces/d/pods",
                None,
                ("LIST", "namespace", ""),
            ),
            ("GET", "/api/v1/pods", None, ("LIST", "cluster", "")),
            (
                "GET",
                "/api/v1/namespaces/d/pods/p",
                None,
                ("GET", "resource", ""),
            ),
            ("HEAD", "/api/v1/nodes/n", None, ("GET", "resource", "")),
            (
                "GET",
                "/api/v1/pods?watch=true",
                None,
                ("WATCH", "cluster", ""),
            ),
            (
                "GET",
                "/api/v1/pods?watch=1",
                None,
                ("WATCH", "cluster", ""),
            ),
            (
                "GET",
                "/api/v1/pods?watch=false",
                None,
                ("LIST", "cluster", ""),
            ),
            (
                "GET",
                "/api/v1/pods?watch=0&watch=1",
                None,
                ("LIST", "cluster", ""),
            ),
            (
                "GET",
                "/api/v1/watch/namespaces/d/pods",
                None,
                ("WATCH", "namespace", ""),
            ),
            (
                "POST",
                "/api/v1/namespaces/d/pods",
                None,
                ("POST", "resource", ""),
            ),
            (
                "PUT",
                "/api/v1/namespaces/d/pods/p/status",
                None,
                ("PUT", "resource", "status"),
            ),
            (
                "PATCH",
                "/apis/apps/v1/namespaces/d/deployments/x",
                Some("application/merge-patch+json"),
                ("PATCH", "resource", ""),
            ),
            (
                "PATCH",
                "/apis/apps/v1/namespaces/d/deployments/x",
                Some("application/apply-patch+yaml"),
                ("APPLY", "resource", ""),
            ),
            (
                "DELETE",
                "/api/v1/namespaces/d/pods",
                None,
                ("DELETE", "namespace", ""),
            ),
            (
                "GET",
                "/api/v1/namespaces/d/pods/p/log",
                None,
                ("CONNECT", "resource", "log"),
            ),
            (
                "POST",
                "/api/v1/namespaces/d/pods/p/exec",
                None,
                ("CONNECT", "resource", "exec"),
            ),
            (
                "GET",
                "/api/v1/namespaces/d/services/s:80/proxy/x",
                None,
                ("CONNECT", "resource", "proxy"),
            ),
            ("OPTIONS", "/api/v1/pods", None, ("other", "cluster", "")),
            ("GET", "/healthz", None, ("GET", "", "/healthz")),
            ("GET", "/readyz/ping/", None, ("GET", "", "/readyz/ping")),
            ("GET", "/metrics", None, ("GET", "", "/metrics")),
            ("GET", "/openapi/v2", None, ("GET", "", "/openapi/v2")),
        ];
        for (method, uri, ct, (verb, scope, sub)) in cases {
            let l = labels(method, uri, ct).unwrap_or_else(|| panic!("{method} {uri}"));
            assert_eq!(
                (l.verb.as_str(), l.scope, l.subresource.as_str()),
                (verb, scope, sub),
                "{method} {uri}"
            );
        }
    }

    #[test]
    fn resources_dry_run_and_unserved_paths() {
        let l = labels(
            "POST",
            "/apis/apps/v1/namespaces/d/deployments?dryRun=All",
            None,
        )
        .unwrap();
        assert_eq!(
            (l.group.as_str(), l.version.as_str(), l.resource.as_str()),
            ("apps", "v1", "deployments")
        );
        assert_eq!(l.dry_run, "All");
        assert_eq!(
            labels("POST", "/api/v1/namespaces/d/pods?dryRun=Some", None)
                .unwrap()
                .dry_run,
            "invalid"
        );
        assert_eq!(
            labels("POST", "/api/v1/namespaces/d/pods", None)
                .unwrap()
                .dry_run,
            ""
        );
        assert!(labels("GET", "/api/v1/widgets", None).is_none());
        assert!(labels("GET", "/nope", None).is_none());
        assert!(labels("GET", "/api/v1/pods?watch=true", None)
            .unwrap()
            .long_running());
        assert!(labels("GET", "/api/v1/namespaces/d/pods/p/log", None)
            .unwrap()
            .long_running());
        assert!(!labels("GET", "/api/v1/pods", None).unwrap().long_running());
    }
}
