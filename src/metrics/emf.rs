//! The Embedded Metric Format adapters: one JSON line per count (`domain::metrics::emf_line`),
//! printed on stdout for CloudWatch Logs, or kept in memory for a test to read back.

use std::sync::{Arc, Mutex};

use super::MetricsSink;
use crate::domain::metrics::emf_line;

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// EMF lines on stdout: what a Lambda function's log turns into CloudWatch metrics.
#[derive(Debug, Clone)]
pub struct EmfStdout {
    namespace: String,
    source: String,
}

impl EmfStdout {
    pub fn new(namespace: impl Into<String>, source: impl Into<String>) -> Self {
        Self { namespace: namespace.into(), source: source.into() }
    }
}

impl MetricsSink for EmfStdout {
    fn count(&self, metric: &str, n: u64) {
        println!("{}", emf_line(&self.namespace, &self.source, metric, n, now_ms()));
    }
}

/// The same EMF lines, kept in memory.
#[derive(Debug, Clone)]
pub struct Kept {
    namespace: String,
    source: String,
    lines: KeptLines,
}

impl Kept {
    pub fn new(namespace: impl Into<String>, source: impl Into<String>) -> Self {
        Self { namespace: namespace.into(), source: source.into(), lines: KeptLines::default() }
    }

    /// The lines written so far and from now on.
    pub fn lines(&self) -> KeptLines {
        self.lines.clone()
    }
}

impl MetricsSink for Kept {
    fn count(&self, metric: &str, n: u64) {
        let line = emf_line(&self.namespace, &self.source, metric, n, now_ms());
        self.lines.0.lock().expect("metric lines").push(line);
    }
}

/// The EMF lines a `Kept` sink wrote, to read back.
#[derive(Debug, Clone, Default)]
pub struct KeptLines(Arc<Mutex<Vec<String>>>);

impl KeptLines {
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().expect("metric lines").clone()
    }

    /// The sum of `metric` over the lines, read as CloudWatch reads EMF (the member named
    /// like the metric in a line whose directive declares it).
    pub fn total(&self, metric: &str) -> u64 {
        self.lines()
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"] == metric)
            .filter_map(|v| v[metric].as_u64())
            .sum()
    }
}
