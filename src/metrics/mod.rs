//! Metrics out: the `MetricsSink` port, the `Metrics` handle every caller holds, and the
//! adapters beside them: Embedded Metric Format lines on stdout (`emf`), which CloudWatch Logs
//! turns into metrics (alarms in template.yaml) and which locally are a visible record; the
//! same lines kept in memory for a test to read back; and off, for a command-line run, whose
//! report says the same.

use std::sync::Arc;

mod emf;

pub use self::emf::{EmfStdout, Kept, KeptLines};

pub const DEFAULT_NAMESPACE: &str = "line-oa";

/// Where counts go. `count` is never called with 0 (the handle drops those).
pub trait MetricsSink: Send + Sync + std::fmt::Debug {
    fn count(&self, metric: &str, n: u64);
}

/// The port as callers hold it: cheap to clone, every clone counting into the same sink.
#[derive(Debug, Clone)]
pub struct Metrics(Arc<dyn MetricsSink>);

impl Default for Metrics {
    fn default() -> Self {
        Self::new(DEFAULT_NAMESPACE, "local")
    }
}

impl Metrics {
    /// EMF lines on stdout under `namespace`, dimension `Source` = `source`.
    pub fn new(namespace: impl Into<String>, source: impl Into<String>) -> Self {
        Self::to(EmfStdout::new(namespace, source))
    }

    /// Writes nothing: a command-line run, whose output is its report.
    pub fn off() -> Self {
        Self::to(Off)
    }

    /// Keeps the lines in memory instead of printing them.
    pub fn kept(namespace: impl Into<String>, source: impl Into<String>) -> (Self, KeptLines) {
        let kept = Kept::new(namespace, source);
        let lines = kept.lines();
        (Self::to(kept), lines)
    }

    /// Counts into any sink.
    pub fn to(sink: impl MetricsSink + 'static) -> Self {
        Self(Arc::new(sink))
    }

    pub fn count(&self, metric: &str, n: u64) {
        if n > 0 {
            self.0.count(metric, n);
        }
    }
}

/// Counts nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Off;

impl MetricsSink for Off {
    fn count(&self, _metric: &str, _n: u64) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::metrics::emf_line;

    #[test]
    fn a_zero_is_not_written_and_every_clone_counts_into_the_same_lines_in_the_emf_format() {
        let (metrics, kept) = Metrics::kept("line-oa/test", "worker");
        metrics.count("Things", 0);
        assert!(kept.lines().is_empty());
        metrics.clone().count("Things", 3);
        metrics.count("Things", 2);
        let lines = kept.lines();
        assert_eq!(lines.len(), 2);
        let at: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        let at = at["_aws"]["Timestamp"].as_i64().unwrap();
        assert_eq!(lines[0], emf_line("line-oa/test", "worker", "Things", 3, at), "the line as domain::metrics writes it");
        assert_eq!(kept.total("Things"), 5);
        assert_eq!(kept.total("Other"), 0);
        Metrics::off().count("Things", 1);
    }
}
