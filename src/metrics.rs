//! Metrics out: Embedded Metric Format lines on stdout, which CloudWatch Logs turns into
//! metrics (alarms in template.yaml). Locally the same lines are a visible record. A command
//! line run prints none (its report says the same), and a test may keep the lines to read back.

use std::sync::{Arc, Mutex};

use crate::domain::metrics::emf_line;

pub const DEFAULT_NAMESPACE: &str = "line-oa";

/// Where the EMF lines go.
#[derive(Debug, Clone)]
enum Sink {
    Stdout,
    Off,
    Kept(Arc<Mutex<Vec<String>>>),
}

#[derive(Debug, Clone)]
pub struct Metrics {
    namespace: String,
    source: String,
    sink: Sink,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new(DEFAULT_NAMESPACE, "local")
    }
}

/// The EMF lines a `Metrics::kept` wrote, to read back.
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

impl Metrics {
    pub fn new(namespace: impl Into<String>, source: impl Into<String>) -> Self {
        Self { namespace: namespace.into(), source: source.into(), sink: Sink::Stdout }
    }

    /// Writes nothing: a command-line run, whose output is its report.
    pub fn off() -> Self {
        Self { sink: Sink::Off, ..Self::default() }
    }

    /// Keeps the lines in memory instead of printing them.
    pub fn kept(namespace: impl Into<String>, source: impl Into<String>) -> (Self, KeptLines) {
        let kept = KeptLines::default();
        (Self { namespace: namespace.into(), source: source.into(), sink: Sink::Kept(kept.0.clone()) }, kept)
    }

    pub fn count(&self, metric: &str, count: u64) {
        if count == 0 {
            return;
        }
        let line = || emf_line(&self.namespace, &self.source, metric, count, jiff::Timestamp::now().as_millisecond());
        match &self.sink {
            Sink::Stdout => println!("{}", line()),
            Sink::Off => {}
            Sink::Kept(lines) => lines.lock().expect("metric lines").push(line()),
        }
    }
}
