//! Labelled counters and gauges: one value per combination of label values, kept in a
//! sorted map so a scrape lists them in a stable order.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::text;

/// Separates label values inside a child's key (a byte no label value carries).
const SEP: char = '\u{0}';

/// The key of a child: its label values joined by [`SEP`].
pub(crate) fn key(values: &[&str]) -> String {
    let mut k = String::with_capacity(values.iter().map(|v| v.len() + 1).sum());
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            k.push(SEP);
        }
        k.push_str(v);
    }
    k
}

/// The label values of a child's key, in label order.
pub(crate) fn values(key: &str, n: usize) -> Vec<&str> {
    if n == 0 {
        return Vec::new();
    }
    key.split(SEP).collect()
}

/// Locks a mutex, carrying on past a poisoned lock (a panicking observer leaves valid numbers).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A metric family: name, help, label names and one value per label combination.
pub(crate) struct Family<V> {
    pub(crate) name: String,
    pub(crate) help: String,
    pub(crate) labels: Vec<String>,
    pub(crate) children: Mutex<BTreeMap<String, V>>,
}

impl<V: Default> Family<V> {
    pub(crate) fn new(name: &str, help: &str, labels: &[&str]) -> Self {
        Family {
            name: name.to_string(),
            help: help.to_string(),
            labels: labels.iter().map(|l| l.to_string()).collect(),
            children: Mutex::new(BTreeMap::new()),
        }
    }

    /// Runs `f` on the child for `values`, creating it; `None` (nothing recorded) when the
    /// number of values does not match the label names.
    pub(crate) fn with<R>(&self, values: &[&str], f: impl FnOnce(&mut V) -> R) -> Option<R> {
        if values.len() != self.labels.len() {
            return None;
        }
        let mut children = lock(&self.children);
        Some(f(children.entry(key(values)).or_default()))
    }

    /// A copy of the child for `values`, if it exists.
    pub(crate) fn get(&self, values: &[&str]) -> Option<V>
    where
        V: Clone,
    {
        lock(&self.children).get(&key(values)).cloned()
    }
}

impl Family<f64> {
    fn render(&self, kind: &str, out: &mut String) {
        let children = lock(&self.children);
        if children.is_empty() {
            return;
        }
        text::header(out, &self.name, &self.help, kind);
        for (k, v) in children.iter() {
            let vals = values(k, self.labels.len());
            text::sample(out, &self.name, &self.labels, &vals, None, *v);
        }
    }
}

/// A counter per label combination: only goes up.
#[derive(Clone)]
pub struct CounterVec(pub(crate) Arc<Family<f64>>);

impl CounterVec {
    pub(crate) fn new(name: &str, help: &str, labels: &[&str]) -> Self {
        CounterVec(Arc::new(Family::new(name, help, labels)))
    }

    /// Adds one.
    pub fn inc(&self, values: &[&str]) {
        self.add(values, 1.0);
    }

    /// Adds `v` (negative amounts are ignored: counters never go down).
    pub fn add(&self, values: &[&str], v: f64) {
        if v >= 0.0 {
            self.0.with(values, |c| *c += v);
        }
    }

    /// The current value (0 when never touched).
    pub fn get(&self, values: &[&str]) -> f64 {
        self.0.get(values).unwrap_or(0.0)
    }

    pub(crate) fn render(&self, out: &mut String) {
        self.0.render("counter", out);
    }
}

/// A gauge per label combination: set, or moved up and down.
#[derive(Clone)]
pub struct GaugeVec(pub(crate) Arc<Family<f64>>);

impl GaugeVec {
    pub(crate) fn new(name: &str, help: &str, labels: &[&str]) -> Self {
        GaugeVec(Arc::new(Family::new(name, help, labels)))
    }

    /// Sets the value.
    pub fn set(&self, values: &[&str], v: f64) {
        self.0.with(values, |g| *g = v);
    }

    /// Adds `v` (may be negative).
    pub fn add(&self, values: &[&str], v: f64) {
        self.0.with(values, |g| *g += v);
    }

    /// Adds one.
    pub fn inc(&self, values: &[&str]) {
        self.add(values, 1.0);
    }

    /// Subtracts one.
    pub fn dec(&self, values: &[&str]) {
        self.add(values, -1.0);
    }

    /// The current value (0 when never touched).
    pub fn get(&self, values: &[&str]) -> f64 {
        self.0.get(values).unwrap_or(0.0)
    }

    pub(crate) fn render(&self, out: &mut String) {
        self.0.render("gauge", out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_add_per_label_set_and_ignore_bad_input() {
        let c = CounterVec::new("requests_total", "Requests.", &["verb", "code"]);
        c.inc(&["GET", "200"]);
        c.add(&["GET", "200"], 2.0);
        c.add(&["GET", "200"], -5.0);
        c.inc(&["GET"]);
        assert_eq!(c.get(&["GET", "200"]), 3.0);
        assert_eq!(c.get(&["PUT", "200"]), 0.0);
        let mut out = String::new();
        c.render(&mut out);
        assert_eq!(
            out,
            "# HELP requests_total Requests.\n# TYPE requests_total counter\nrequests_total{verb=\"GET\",code=\"200\"} 3\n"
        );
    }

    #[test]
    fn gauges_move_both_ways_and_empty_families_render_nothing() {
        let g = GaugeVec::new("inflight", "In flight.", &[]);
        let mut out = String::new();
        g.render(&mut out);
        assert_eq!(out, "");
        g.inc(&[]);
        g.inc(&[]);
        g.dec(&[]);
        assert_eq!(g.get(&[]), 1.0);
        g.set(&[], 0.5);
        g.render(&mut out);
        assert!(out.ends_with("\ninflight 0.5\n"), "{out}");
    }

    #[test]
    fn keys_round_trip_empty_values() {
        let k = key(&["", "pods", ""]);
        assert_eq!(values(&k, 3), vec!["", "pods", ""]);
        assert!(values(&key(&[]), 0).is_empty());
    }
}
