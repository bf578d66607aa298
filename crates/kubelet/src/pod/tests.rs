//! Worker-level tests against the fake CRI and a fake API.
