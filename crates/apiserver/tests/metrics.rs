//! `GET /metrics` with the admin credentials: upstream's request, long-running and store
//! metrics with their label sets after a few real requests; 401 without credentials.

mod common;

use std::collections::BTreeMap;

/// One sample: its labels and value.
type Sample = (BTreeMap<String, String>, f64);

/// The samples of metric `name` in a text-format scrape.
fn samples(text: &str, name: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        let (labels, value) = match rest.strip_prefix('{') {
            Some(r) => {
                let (labels, value) = r.rsplit_once("} ").expect("labels end");
                (labels, value)
            }
            None if rest.starts_with(' ') => ("", rest.trim()),
            None => continue,
        };
        let mut map = BTreeMap::new();
        for pair in labels.split("\",").filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once("=\"").expect("label pair");
            map.insert(k.to_string(), v.trim_end_matches('"').to_string());
        }
        out.push((map, value.parse().expect("value")));
    }
    out
}

fn find<'a>(s: &'a [Sample], want: &[(&str, &str)]) -> Option<&'a Sample> {
    s.iter().find(|(labels, _)| {
        want.iter()
            .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
    })
}

fn names(s: &Sample) -> Vec<&str> {
    s.0.keys().map(String::as_str).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_after_requests_and_401_without_credentials() {
    let t = common::start_server().await;
    let client = t.client().await;
    t.ok(&["create", "configmap", "m1", "--from-literal=a=b"])
        .await;
    t.ok(&["get", "pods"]).await;
    t.ok(&["get", "configmap", "m1"]).await;
    // A watch stays open while the scrape runs.
    let watch = tokio::spawn({
        let c = client.clone();
        async move {
            common::watch_lines(
                &c,
                "/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=30",
                std::time::Duration::from_secs(30),
                |ev| ev.iter().any(|e| e["object"]["metadata"]["name"] == "stop"),
            )
            .await
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let (code, text) = loop {
        let (code, body) = common::call(&client, "GET", "/metrics", "", Vec::new()).await;
        let text = body.as_str().unwrap_or_default().to_string();
        let gauge = samples(&text, "apiserver_longrunning_requests");
        let open = find(&gauge, &[("verb", "WATCH"), ("resource", "configmaps")]);
        if open.is_some_and(|s| s.1 >= 1.0) {
            break (code, text);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no open watch counted:\n{text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(code, 200);

    let requests = samples(&text, "apiserver_request_total");
    let all_labels = [
        "code",
        "component",
        "dry_run",
        "group",
        "resource",
        "scope",
        "subresource",
        "verb",
        "version",
    ];
    assert!(
        requests.iter().all(|s| names(s) == all_labels),
        "{requests:?}"
    );
    let post = [
        ("verb", "POST"),
        ("resource", "configmaps"),
        ("version", "v1"),
        ("group", ""),
        ("scope", "resource"),
        ("code", "201"),
        ("component", "apiserver"),
        ("subresource", ""),
        ("dry_run", ""),
    ];
    assert!(
        find(&requests, &post).is_some_and(|s| s.1 >= 1.0),
        "{requests:?}"
    );
    let list = [
        ("verb", "LIST"),
        ("resource", "pods"),
        ("scope", "namespace"),
        ("code", "200"),
    ];
    assert!(find(&requests, &list).is_some(), "{requests:?}");
    let get = [
        ("verb", "GET"),
        ("resource", "configmaps"),
        ("scope", "resource"),
        ("code", "200"),
    ];
    assert!(find(&requests, &get).is_some(), "{requests:?}");
    let discovery = [
        ("verb", "GET"),
        ("subresource", "/api"),
        ("resource", ""),
        ("scope", ""),
    ];
    assert!(find(&requests, &discovery).is_some(), "{requests:?}");

    let buckets = samples(&text, "apiserver_request_duration_seconds_bucket");
    let first = find(
        &buckets,
        &[
            ("verb", "POST"),
            ("resource", "configmaps"),
            ("le", "0.005"),
        ],
    );
    assert!(first.is_some(), "{buckets:?}");
    let inf = find(
        &buckets,
        &[("verb", "POST"), ("resource", "configmaps"), ("le", "+Inf")],
    );
    assert!(inf.is_some_and(|s| s.1 >= 1.0), "{buckets:?}");
    assert!(buckets.iter().all(|s| names(s).len() == 9), "{buckets:?}");
    for le in ["0.025", "0.2", "1.25", "60"] {
        assert!(find(&buckets, &[("le", le)]).is_some(), "bucket {le}");
    }

    let gauge = samples(&text, "apiserver_longrunning_requests");
    let watch_labels = [
        "component",
        "group",
        "resource",
        "scope",
        "subresource",
        "verb",
        "version",
    ];
    assert!(gauge.iter().all(|s| names(s) == watch_labels), "{gauge:?}");

    let store = samples(&text, "etcd_request_duration_seconds_count");
    for (op, ty) in [
        ("create", "configmaps"),
        ("list", "pods"),
        ("get", "configmaps"),
    ] {
        let s = find(&store, &[("operation", op), ("type", ty)]);
        assert!(s.is_some_and(|s| s.1 >= 1.0), "{op} {ty}: {store:?}");
    }
    assert!(text.contains("# TYPE etcd_request_duration_seconds histogram"));

    // kubectl with the admin kubeconfig reads it too.
    let raw = t.ok(&["get", "--raw", "/metrics"]).await;
    assert!(
        raw.contains("# TYPE apiserver_request_total counter"),
        "{raw}"
    );

    // No credentials, or wrong ones: 401 Status (health stays public).
    let mut cfg = kube::Config::new(t.server.url().parse().unwrap());
    cfg.accept_invalid_certs = true;
    let anonymous = kube::Client::try_from(cfg.clone()).unwrap();
    let (code, body) = common::call(&anonymous, "GET", "/metrics", "", Vec::new()).await;
    assert_eq!(
        (code, body["kind"].as_str(), body["code"].as_i64()),
        (401, Some("Status"), Some(401))
    );
    cfg.auth_info.token = Some("wrong".to_string().into());
    let wrong = kube::Client::try_from(cfg).unwrap();
    assert_eq!(
        common::call(&wrong, "GET", "/metrics", "", Vec::new())
            .await
            .0,
        401
    );
    assert_eq!(
        common::call(&anonymous, "GET", "/healthz", "", Vec::new())
            .await
            .0,
        200
    );

    t.ok(&["create", "configmap", "stop"]).await;
    let (events, _) = watch.await.unwrap();
    assert!(!events.is_empty());
    t.server.shutdown().await;
}
