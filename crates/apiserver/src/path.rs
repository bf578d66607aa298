//! Splits a request path into what it addresses (upstream's RequestInfo rules).

/// What a path addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// /healthz, /livez, /readyz (and sub-paths).
    Health,
    /// /version.
    Version,
    /// /cacerts.
    CaCerts,
    /// /metrics (Prometheus).
    Metrics,
    /// /v1-skiff/kubelet-serving-cert (node join: sign a kubelet serving certificate).
    KubeletServingCert,
    /// /api.
    CoreVersions,
    /// /apis.
    Groups,
    /// /apis/<group>.
    Group(String),
    /// /api/v1 or /apis/<g>/<v>.
    Resources(String, String),
    /// /openapi/v2 or /openapi/v3[...].
    OpenApi(String),
    /// A resource request.
    Resource(ResourcePath),
    /// Anything else.
    Unknown,
}

/// A request against a resource collection or object.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResourcePath {
    /// API group ("" for core).
    pub group: String,
    /// API version.
    pub version: String,
    /// Namespace from the path.
    pub namespace: Option<String>,
    /// Resource plural.
    pub plural: String,
    /// Object name.
    pub name: Option<String>,
    /// Subresource.
    pub sub: Option<String>,
    /// Remaining path after the subresource (proxy).
    pub rest: String,
    /// Path had the legacy `/watch/` segment.
    pub watch: bool,
}

impl Route {
    /// Paths anyone may read without credentials.
    pub fn is_public(&self) -> bool {
        matches!(self, Route::Health | Route::Version | Route::CaCerts)
    }
}

/// The route of a request: parsed once (see [`attach`]) and kept in its extensions.
pub fn of<B>(req: &http::Request<B>) -> Route {
    req.extensions()
        .get::<Route>()
        .cloned()
        .unwrap_or_else(|| parse(req.uri().path()))
}

/// Parses the request's path into its extensions (upstream's `WithRequestInfo`).
pub fn attach<B>(mut req: http::Request<B>) -> http::Request<B> {
    let route = parse(req.uri().path());
    req.extensions_mut().insert(route);
    req
}

/// Parses a request path.
pub fn parse(path: &str) -> Route {
    let trimmed = path.trim_end_matches('/');
    let parts: Vec<&str> = trimmed.split('/').skip(1).collect();
    match parts.as_slice() {
        [h, ..] if *h == "healthz" || *h == "livez" || *h == "readyz" => return Route::Health,
        ["version"] => return Route::Version,
        ["cacerts"] => return Route::CaCerts,
        ["metrics"] => return Route::Metrics,
        ["v1-skiff", "kubelet-serving-cert"] => return Route::KubeletServingCert,
        ["api"] => return Route::CoreVersions,
        ["apis"] => return Route::Groups,
        ["apis", g] => return Route::Group((*g).to_string()),
        ["api", v] => return Route::Resources(String::new(), (*v).to_string()),
        ["apis", g, v] => return Route::Resources((*g).to_string(), (*v).to_string()),
        ["openapi", rest @ ..] => return Route::OpenApi(rest.join("/")),
        _ => {}
    }
    let (group, version, rest) = match parts.as_slice() {
        ["api", v, rest @ ..] => (String::new(), (*v).to_string(), rest),
        ["apis", g, v, rest @ ..] => ((*g).to_string(), (*v).to_string(), rest),
        _ => return Route::Unknown,
    };
    let mut rest: Vec<&str> = rest.to_vec();
    // The raw path keeps a trailing slash for proxy requests.
    let trailing_slash = path.ends_with('/') && !trimmed.is_empty();
    let mut rp = ResourcePath {
        group,
        version,
        ..Default::default()
    };
    if rest.first() == Some(&"watch") {
        rp.watch = true;
        rest.remove(0);
    }
    if rest.first() == Some(&"namespaces") && rest.len() > 1 {
        rp.namespace = Some(rest[1].to_string());
        if rest.len() > 2 && rest[2] != "status" && rest[2] != "finalize" {
            rest.drain(0..2);
        } else {
            // namespaces/<name>[/status|finalize]: the namespace object itself.
            rp.namespace = None;
        }
    }
    let Some(plural) = rest.first() else {
        return Route::Unknown;
    };
    rp.plural = (*plural).to_string();
    if let Some(n) = rest.get(1) {
        rp.name = Some((*n).to_string());
    }
    if let Some(s) = rest.get(2) {
        rp.sub = Some((*s).to_string());
    }
    if rest.len() > 3 {
        rp.rest = rest[3..].join("/");
        if trailing_slash {
            rp.rest.push('/');
        }
    } else if trailing_slash && rp.sub.is_some() {
        rp.rest = String::new();
    }
    Route::Resource(rp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(p: &str) -> ResourcePath {
        match parse(p) {
            Route::Resource(r) => r,
            other => panic!("{p}: {other:?}"),
        }
    }

    #[test]
    fn paths() {
        let r = res("/api/v1/namespaces/default/pods/web/log");
        assert_eq!(
            (
                r.namespace.as_deref(),
                r.plural.as_str(),
                r.name.as_deref(),
                r.sub.as_deref()
            ),
            (Some("default"), "pods", Some("web"), Some("log"))
        );
        let r = res("/api/v1/namespaces/kube-system");
        assert_eq!(
            (r.namespace, r.plural.as_str(), r.name.as_deref()),
            (None, "namespaces", Some("kube-system"))
        );
        let r = res("/api/v1/namespaces/x/finalize");
        assert_eq!(
            (r.plural.as_str(), r.name.as_deref(), r.sub.as_deref()),
            ("namespaces", Some("x"), Some("finalize"))
        );
        let r = res("/apis/apps/v1/watch/namespaces/d/deployments");
        assert!(r.watch);
        assert_eq!(r.group, "apps");
        let r = res("/api/v1/namespaces/d/pods/p:80/proxy/a/b/");
        assert_eq!(r.rest, "a/b/");
        assert_eq!(
            parse("/apis/apps/v1"),
            Route::Resources("apps".into(), "v1".into())
        );
        assert_eq!(parse("/version"), Route::Version);
        assert_eq!(parse("/metrics"), Route::Metrics);
    }
}
