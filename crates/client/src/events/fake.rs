//! An event sink that keeps what it is given, for components' unit tests (like
//! client-go's `record.FakeRecorder`).

use std::sync::Mutex;

use super::{EventRecord, EventSink};

/// Collects events in order.
#[derive(Default)]
pub struct FakeEvents(pub Mutex<Vec<EventRecord>>);

impl EventSink for FakeEvents {
    fn record(&self, ev: EventRecord) {
        if let Ok(mut v) = self.0.lock() {
            v.push(ev);
        }
    }
}

impl FakeEvents {
    /// "Reason: message" lines in order.
    pub fn lines(&self) -> Vec<String> {
        self.0
            .lock()
            .map(|v| {
                v.iter()
                    .map(|e| format!("{}: {}", e.reason, e.message))
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ObjectReference;

    #[test]
    fn keeps_events_in_order() {
        let f = FakeEvents::default();
        for (reason, message) in [("Pulling", "pulling image"), ("Pulled", "done")] {
            f.record(EventRecord {
                object: ObjectReference::default(),
                type_: super::super::NORMAL.into(),
                reason: reason.into(),
                message: message.into(),
            });
        }
        assert_eq!(f.lines(), ["Pulling: pulling image", "Pulled: done"]);
    }
}
