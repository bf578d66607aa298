//! The recorder against a fake API server: what it writes, in which order.

use std::sync::Mutex;

use k8s_openapi::api::core::v1::Pod;
use serde_json::{json, Value};

use super::*;
use crate::testing::{self, status, Reply, Request};

fn pod() -> Pod {
    serde_json::from_value(json!({"metadata": {"name": "web", "namespace": "ns", "uid": "u1"}}))
        .unwrap()
}

/// An API server storing Events: POST stores (named by the server as `stored-N`), PATCH
/// merges into the stored one (404 when `patch_missing`), POST of reason `Bad` is refused.
fn server(patch_missing: bool) -> impl Fn(&Request) -> Reply + Send + Sync {
    let stored: Mutex<Vec<Value>> = Mutex::default();
    move |r: &Request| {
        let mut stored = stored.lock().unwrap();
        if r.method == http::Method::POST {
            if r.body["reason"] == "Bad" {
                return status(422, "Invalid");
            }
            let mut ev = r.body.clone();
            ev["metadata"]["name"] = json!(format!("stored-{}", stored.len()));
            ev["metadata"]["resourceVersion"] = json!("1");
            stored.push(ev.clone());
            return Reply::Json(201, ev);
        }
        let name = r.path.rsplit('/').next().unwrap_or("");
        let found = stored.iter_mut().find(|e| e["metadata"]["name"] == name);
        match found {
            Some(ev) if !patch_missing => {
                for (k, v) in r.body.as_object().unwrap() {
                    ev[k] = v.clone();
                }
                Reply::Json(200, ev.clone())
            }
            _ => status(404, "NotFound"),
        }
    }
}

#[tokio::test]
async fn repeats_are_counted_on_the_stored_event() {
    let (client, mut requests) = testing::client(server(false));
    let rec = Recorder::for_node(client, "kubelet", "node1");
    for _ in 0..3 {
        rec.record(&pod(), EventType::Normal, "Pulled", "image pulled")
            .await;
    }
    let first = requests.recv().await.unwrap();
    assert_eq!(first.method, http::Method::POST);
    assert_eq!(first.path, "/api/v1/namespaces/ns/events");
    assert_eq!(first.body["count"], 1);
    assert_eq!(first.body["involvedObject"]["uid"], "u1");
    assert_eq!(
        first.body["source"],
        json!({"component": "kubelet", "host": "node1"})
    );
    assert_eq!(first.body["reportingInstance"], "node1");
    for count in [2, 3] {
        let r = requests.recv().await.unwrap();
        assert_eq!(r.method, http::Method::PATCH);
        assert_eq!(r.path, "/api/v1/namespaces/ns/events/stored-0");
        assert_eq!(r.body["count"], count);
        assert_eq!(r.body["message"], "image pulled");
    }
}

#[tokio::test]
async fn a_vanished_event_is_created_again() {
    let (client, mut requests) = testing::client(server(true));
    let rec = Recorder::new(client, "default-scheduler", "sched-1");
    for _ in 0..2 {
        rec.emit(
            object_ref(&pod()),
            EventType::Warning,
            "FailedScheduling",
            "no nodes",
        );
    }
    let methods_and_counts: Vec<(http::Method, Value)> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            let r = requests.recv().await.unwrap();
            v.push((r.method, r.body["count"].clone()));
        }
        v
    };
    assert_eq!(
        methods_and_counts,
        [
            (http::Method::POST, json!(1)),
            (http::Method::PATCH, json!(2)),
            (http::Method::POST, json!(2)),
        ]
    );
}

#[tokio::test]
async fn a_refused_event_is_dropped_not_retried() {
    let (client, mut requests) = testing::client(server(false));
    let rec = Recorder::new(client, "controller-manager", "cm");
    rec.record(&pod(), EventType::Warning, "Bad", "refused")
        .await;
    rec.record(&pod(), EventType::Normal, "Good", "accepted")
        .await;
    let reasons = [
        requests.recv().await.unwrap().body["reason"].clone(),
        requests.recv().await.unwrap().body["reason"].clone(),
    ];
    assert_eq!(reasons, [json!("Bad"), json!("Good")]);
}

#[tokio::test]
async fn built_event_names_the_object_and_source() {
    let (client, _requests) = testing::client(server(false));
    let rec = Recorder::new(client, "default-scheduler", "sched-1");
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let ev = rec.build(
        object_ref(&pod()),
        EventType::Normal,
        "Scheduled",
        "ok",
        now,
    );
    assert_eq!(ev.metadata.namespace.as_deref(), Some("ns"));
    assert!(ev.metadata.name.as_deref().unwrap().starts_with("web."));
    assert_eq!(ev.type_.as_deref(), Some("Normal"));
    assert_eq!(ev.count, Some(1));
    assert_eq!(ev.first_timestamp, Some(Time(now)));
    assert_eq!(ev.source.as_ref().unwrap().host, None);
    assert_eq!(ev.reporting_component.as_deref(), Some("default-scheduler"));
    assert_eq!(ev.reporting_instance.as_deref(), Some("sched-1"));
    assert_eq!(ev.event_time, None);
}
