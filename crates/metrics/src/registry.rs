//! The registry of metric families and the process-wide one every component shares.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

use crate::family::{lock, CounterVec, GaugeVec};
use crate::histogram::HistogramVec;

enum Entry {
    Counter(CounterVec),
    Gauge(GaugeVec),
    Histogram(HistogramVec),
}

/// Metric families by name. Registering a name twice with the same kind returns the
/// family registered first, so components (and tests that start several servers in one
/// process) may register at every start.
#[derive(Default)]
pub struct Registry {
    families: Mutex<BTreeMap<String, Entry>>,
}

/// The process-wide registry: what `/metrics` of the API server and of the kubelet show.
pub fn global() -> &'static Registry {
    static GLOBAL: OnceLock<Registry> = OnceLock::new();
    GLOBAL.get_or_init(Registry::default)
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// The counter family `name` (registered now unless it exists). A name already taken by
    /// another kind yields a family that is recorded but never rendered.
    pub fn counter_vec(&self, name: &str, help: &str, labels: &[&str]) -> CounterVec {
        let mut families = lock(&self.families);
        match families.get(name) {
            Some(Entry::Counter(c)) => c.clone(),
            Some(_) => CounterVec::new(name, help, labels),
            None => {
                let c = CounterVec::new(name, help, labels);
                families.insert(name.to_string(), Entry::Counter(c.clone()));
                c
            }
        }
    }

    /// The gauge family `name`, as [`counter_vec`](Self::counter_vec) does for counters.
    pub fn gauge_vec(&self, name: &str, help: &str, labels: &[&str]) -> GaugeVec {
        let mut families = lock(&self.families);
        match families.get(name) {
            Some(Entry::Gauge(g)) => g.clone(),
            Some(_) => GaugeVec::new(name, help, labels),
            None => {
                let g = GaugeVec::new(name, help, labels);
                families.insert(name.to_string(), Entry::Gauge(g.clone()));
                g
            }
        }
    }

    /// The histogram family `name` with upper bounds `buckets` (`+Inf` is implied).
    pub fn histogram_vec(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
        buckets: &[f64],
    ) -> HistogramVec {
        let mut families = lock(&self.families);
        match families.get(name) {
            Some(Entry::Histogram(h)) => h.clone(),
            Some(_) => HistogramVec::new(name, help, labels, buckets),
            None => {
                let h = HistogramVec::new(name, help, labels, buckets);
                families.insert(name.to_string(), Entry::Histogram(h.clone()));
                h
            }
        }
    }

    /// Every family with at least one sample, sorted by name, in the text format 0.0.4.
    pub fn render(&self) -> String {
        let families = lock(&self.families);
        let mut out = String::with_capacity(16 * 1024);
        for entry in families.values() {
            match entry {
                Entry::Counter(c) => c.render(&mut out),
                Entry::Gauge(g) => g.render(&mut out),
                Entry::Histogram(h) => h.render(&mut out),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registering_twice_shares_the_family_and_kinds_do_not_clash() {
        let r = Registry::new();
        r.counter_vec("b_total", "B.", &["x"]).inc(&["1"]);
        r.counter_vec("b_total", "B.", &["x"]).inc(&["1"]);
        r.gauge_vec("a", "A.", &[]).set(&[], 2.0);
        // Same name, other kind: recorded, never rendered.
        r.gauge_vec("b_total", "B.", &["x"]).set(&["1"], 99.0);
        assert_eq!(
            r.render(),
            "# HELP a A.\n# TYPE a gauge\na 2\n# HELP b_total B.\n# TYPE b_total counter\nb_total{x=\"1\"} 2\n"
        );
    }
}
