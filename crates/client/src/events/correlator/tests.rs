//! The correlator's cases, taken from client-go's `events_cache_test.go`.

use super::*;
use k8s_openapi::api::core::v1::{EventSource, ObjectReference};

fn object(name: &str, namespace: &str) -> ObjectReference {
    ObjectReference {
        kind: Some("Pod".into()),
        name: Some(name.into()),
        namespace: Some(namespace.into()),
        uid: Some("C934D34AFB20242".into()),
        api_version: Some("version".into()),
        field_path: Some("spec.containers{mycontainer}".into()),
        ..Default::default()
    }
}

fn event(reason: &str, message: &str, involved: ObjectReference) -> Event {
    Event {
        metadata: ObjectMeta {
            name: Some(format!("{}.first", s(&involved.name))),
            namespace: involved.namespace.clone(),
            ..Default::default()
        },
        reason: Some(reason.into()),
        message: Some(message.into()),
        involved_object: involved,
        source: Some(EventSource {
            component: Some("kubelet".into()),
            host: Some("kublet.node1".into()),
        }),
        count: Some(1),
        type_: Some("Normal".into()),
        ..Default::default()
    }
}

fn repeat(n: usize, ev: &Event) -> Vec<Event> {
    vec![ev.clone(); n]
}

/// `n` copies of `ev` whose messages differ (`prefix-i-message`).
fn similar(n: usize, ev: &Event, prefix: &str) -> Vec<Event> {
    (0..n)
        .map(|i| Event {
            message: Some(format!("{prefix}-{i}-{}", s(&ev.message))),
            ..ev.clone()
        })
        .collect()
}

/// `n` events about different objects with different reasons and messages.
fn unique(n: usize) -> Vec<Event> {
    (0..n)
        .map(|i| {
            event(
                &format!("reason-{i}"),
                &format!("message-{i}"),
                object(&format!("pod-{i}"), &format!("ns-{i}")),
            )
        })
        .collect()
}

/// What a case expects of the last event.
#[derive(Debug, PartialEq)]
enum Want {
    /// Created with count 1 and this message.
    Create(String),
    /// Patched to this count, with this message.
    Patch(i32, String),
    Skip,
}

fn at(t0: i64, step: i64, i: usize) -> Timestamp {
    Timestamp::from_second(t0 + step * i as i64).unwrap()
}

/// Feeds `previous` then `new`, `step` seconds apart, writing every non-skipped result
/// back as the API server would; returns what became of `new`.
fn play(opts: CorrelatorOptions, previous: Vec<Event>, new: Event, step: i64) -> Correlated {
    let mut c = Correlator::new(opts);
    let t0 = 1_700_000_000;
    let n = previous.len();
    for (i, mut ev) in previous.into_iter().enumerate() {
        let now = at(t0, step, i);
        ev.first_timestamp = Some(Time(now));
        ev.last_timestamp = Some(Time(now));
        match c.correlate(ev, now) {
            Correlated::Create(e) | Correlated::Patch { event: e, .. } => c.update_state(&e),
            Correlated::Skip => {}
        }
    }
    let now = at(t0, step, n);
    let mut new = new;
    new.first_timestamp = Some(Time(now));
    new.last_timestamp = Some(Time(now));
    c.correlate(new, now)
}

fn got(c: &Correlated) -> Want {
    match c {
        Correlated::Create(e) => {
            assert_eq!(e.count, Some(1));
            assert_eq!(e.first_timestamp, e.last_timestamp);
            Want::Create(s(&e.message).to_string())
        }
        Correlated::Patch { event, patch } => {
            assert_ne!(event.first_timestamp, event.last_timestamp);
            assert_eq!(patch["count"], json!(event.count));
            assert_eq!(patch["message"], json!(event.message));
            assert_eq!(patch["lastTimestamp"], json!(event.last_timestamp));
            Want::Patch(event.count.unwrap_or(0), s(&event.message).to_string())
        }
        Correlated::Skip => Want::Skip,
    }
}

#[test]
fn correlator_counts_aggregates_and_filters() {
    let first = event("first", "i am first", object("my-pod", "my-ns"));
    let duplicate = event("duplicate", "me again", object("my-pod", "my-ns"));
    let uniq = event("unique", "snowflake", object("my-pod", "my-ns"));
    let mut sim = event("similar", "similar message", object("my-pod", "my-ns"));
    sim.involved_object.field_path = Some("spec.containers{container1}".into());
    let combined = format!("{AGGREGATE_PREFIX}similar message");
    let mut other_container = sim.clone();
    other_container.involved_object.field_path = Some("spec.containers{container2}".into());
    let cases: Vec<(&str, Vec<Event>, &Event, i64, Want)> = vec![
        (
            "create-a-single-event",
            vec![],
            &first,
            5,
            Want::Create("i am first".into()),
        ),
        (
            "the-same-event-should-just-count",
            repeat(1, &duplicate),
            &duplicate,
            5,
            Want::Patch(2, "me again".into()),
        ),
        (
            "the-same-event-should-just-count-even-if-more-than-aggregate",
            repeat(10, &duplicate),
            &duplicate,
            30,
            Want::Patch(11, "me again".into()),
        ),
        (
            "the-same-event-is-spam-if-happens-too-frequently",
            repeat(26, &duplicate),
            &duplicate,
            1,
            Want::Skip,
        ),
        (
            "create-many-unique-events",
            unique(30),
            &uniq,
            5,
            Want::Create("snowflake".into()),
        ),
        (
            "similar-events-should-aggregate-event",
            similar(9, &sim, "similar message"),
            &sim,
            5,
            Want::Create(combined.clone()),
        ),
        (
            "similar-events-many-times-should-count-the-aggregate",
            similar(10, &sim, "similar message"),
            &sim,
            5,
            Want::Patch(2, combined.clone()),
        ),
        (
            "events-from-different-containers-do-not-aggregate",
            repeat(1, &other_container),
            &sim,
            5,
            Want::Create("similar message".into()),
        ),
        (
            "similar-events-whose-interval-is-greater-than-aggregate-interval-do-not-aggregate",
            similar(9, &sim, "similar message"),
            &sim,
            601,
            Want::Create("similar message".into()),
        ),
    ];
    for (name, previous, new, step, want) in cases {
        let out = play(CorrelatorOptions::default(), previous, new.clone(), step);
        assert_eq!(got(&out), want, "{name}");
    }
}

#[test]
fn spam_budget_is_per_source_and_object_not_reason() {
    // upstream TestEventSpamFilter with the default key: burst 1, same object
    let opts = CorrelatorOptions {
        spam_burst: 1.0,
        ..Default::default()
    };
    let original = event("original", "i am first", object("my-pod", "my-ns"));
    let different_reason = event("duplicate", "me again", object("my-pod", "my-ns"));
    let other_object = event("duplicate", "me again", object("your-pod", "my-ns"));
    let cases = [
        (
            "different reason, same object",
            &different_reason,
            Want::Skip,
        ),
        (
            "another object",
            &other_object,
            Want::Create("me again".into()),
        ),
    ];
    for (name, new, want) in cases {
        let out = play(opts.clone(), vec![original.clone()], new.clone(), 1);
        assert_eq!(got(&out), want, "{name}");
    }
}

#[test]
fn repeats_patch_the_event_the_server_returned() {
    let mut c = Correlator::default();
    let ev = event("Pulled", "image pulled", object("web", "ns"));
    let t = |s: i64| Timestamp::from_second(1_700_000_000 + s).unwrap();
    let Correlated::Create(mut created) = c.correlate(ev.clone(), t(0)) else {
        panic!("first occurrence is created");
    };
    created.metadata.name = Some("web.server-name".into());
    created.metadata.resource_version = Some("42".into());
    c.update_state(&created);
    let later = Event {
        last_timestamp: Some(Time(t(9))),
        ..ev
    };
    match c.correlate(later, t(9)) {
        Correlated::Patch { event, patch } => {
            assert_eq!(event.metadata.name.as_deref(), Some("web.server-name"));
            assert_eq!(event.metadata.resource_version.as_deref(), Some("42"));
            assert_eq!(event.count, Some(2));
            assert_eq!(patch["count"], json!(2));
            assert_eq!(patch["lastTimestamp"], json!(Time(t(9))));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn keys_separate_what_upstream_separates() {
    let a = event("end-of-world", "it was fun", object("pod1", "other"));
    let b = event("end-of-world", "it was awful", object("pod1", "other"));
    let c = event("nevermind", "it was a bug", object("pod1", "other"));
    // upstream TestEventAggregatorByReasonFunc
    assert_eq!(group_key(&a).0, group_key(&b).0);
    assert_ne!(group_key(&a).1, group_key(&b).1);
    assert_ne!(group_key(&a).0, group_key(&c).0);
    assert_ne!(event_key(&a), event_key(&b));
    assert_eq!(spam_key(&a), spam_key(&c));
    let mut d = a.clone();
    d.involved_object.field_path = Some("spec.containers{other}".into());
    assert_ne!(event_key(&a), event_key(&d));
    assert_eq!(group_key(&a), group_key(&d));
}
