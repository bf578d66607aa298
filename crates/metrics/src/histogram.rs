//! Labelled histograms: cumulative bucket counts, sum and count per label combination.

use std::sync::Arc;

use crate::family::{values, Family};
use crate::text;

/// `count` buckets starting at `start`, each `factor` times the previous (Prometheus'
/// `ExponentialBuckets`); empty when the arguments make no sense.
pub fn exponential_buckets(start: f64, factor: f64, count: usize) -> Vec<f64> {
    if start <= 0.0 || factor <= 1.0 {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(count);
    let mut b = start;
    for _ in 0..count {
        out.push(b);
        b *= factor;
    }
    out
}

/// One histogram: observations per bucket (not cumulative), their sum and count.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Observations {
    pub(crate) per_bucket: Vec<u64>,
    pub(crate) sum: f64,
    pub(crate) count: u64,
}

/// A histogram per label combination, all sharing one set of bucket bounds.
#[derive(Clone)]
pub struct HistogramVec {
    family: Arc<Family<Observations>>,
    bounds: Arc<Vec<f64>>,
}

impl HistogramVec {
    pub(crate) fn new(name: &str, help: &str, labels: &[&str], buckets: &[f64]) -> Self {
        let mut bounds: Vec<f64> = buckets.iter().copied().filter(|b| b.is_finite()).collect();
        bounds.sort_by(f64::total_cmp);
        bounds.dedup();
        HistogramVec {
            family: Arc::new(Family::new(name, help, labels)),
            bounds: Arc::new(bounds),
        }
    }

    /// Records one observation.
    pub fn observe(&self, values: &[&str], v: f64) {
        let slot = self
            .bounds
            .iter()
            .position(|b| v <= *b)
            .unwrap_or(self.bounds.len());
        let n = self.bounds.len() + 1;
        self.family.with(values, |o| {
            if o.per_bucket.len() != n {
                o.per_bucket = vec![0; n];
            }
            o.per_bucket[slot] += 1;
            o.sum += v;
            o.count += 1;
        });
    }

    /// How many observations were recorded for `values`.
    pub fn count(&self, values: &[&str]) -> u64 {
        self.family.get(values).map(|o| o.count).unwrap_or(0)
    }

    pub(crate) fn render(&self, out: &mut String) {
        let children = crate::family::lock(&self.family.children);
        if children.is_empty() {
            return;
        }
        let f = &self.family;
        text::header(out, &f.name, &f.help, "histogram");
        let bucket = format!("{}_bucket", f.name);
        for (k, o) in children.iter() {
            let vals = values(k, f.labels.len());
            let mut cumulative = 0;
            for (i, bound) in self.bounds.iter().enumerate() {
                cumulative += o.per_bucket.get(i).copied().unwrap_or(0);
                let le = text::number(*bound);
                let extra = Some(("le", le.as_str()));
                text::sample(out, &bucket, &f.labels, &vals, extra, cumulative as f64);
            }
            let extra = Some(("le", "+Inf"));
            text::sample(out, &bucket, &f.labels, &vals, extra, o.count as f64);
            text::sample(
                out,
                &format!("{}_sum", f.name),
                &f.labels,
                &vals,
                None,
                o.sum,
            );
            let count = o.count as f64;
            text::sample(
                out,
                &format!("{}_count", f.name),
                &f.labels,
                &vals,
                None,
                count,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_buckets_like_prometheus() {
        assert_eq!(
            exponential_buckets(0.001, 2.0, 4),
            vec![0.001, 0.002, 0.004, 0.008]
        );
        assert!(exponential_buckets(0.0, 2.0, 4).is_empty());
    }

    #[test]
    fn buckets_are_cumulative_with_sum_and_count() {
        let h = HistogramVec::new("latency_seconds", "Latency.", &["verb"], &[0.5, 0.1, 1.0]);
        for v in [0.0625, 0.125, 0.75, 3.0] {
            h.observe(&["GET"], v);
        }
        h.observe(&[], 1.0);
        assert_eq!(h.count(&["GET"]), 4);
        let mut out = String::new();
        h.render(&mut out);
        let want = "# HELP latency_seconds Latency.\n# TYPE latency_seconds histogram\n\
latency_seconds_bucket{verb=\"GET\",le=\"0.1\"} 1\n\
latency_seconds_bucket{verb=\"GET\",le=\"0.5\"} 2\n\
latency_seconds_bucket{verb=\"GET\",le=\"1\"} 3\n\
latency_seconds_bucket{verb=\"GET\",le=\"+Inf\"} 4\n\
latency_seconds_sum{verb=\"GET\"} 3.9375\n\
latency_seconds_count{verb=\"GET\"} 4\n";
        assert_eq!(out, want);
    }
}
