//! Metrics out: Embedded Metric Format lines on stdout, which CloudWatch Logs turns into
//! metrics (alarms in template.yaml). Locally the same lines are a visible record.

use crate::domain::metrics::emf_line;

pub const DEFAULT_NAMESPACE: &str = "line-oa";

#[derive(Debug, Clone)]
pub struct Metrics {
    namespace: String,
    source: String,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new(DEFAULT_NAMESPACE, "local")
    }
}

impl Metrics {
    pub fn new(namespace: impl Into<String>, source: impl Into<String>) -> Self {
        Self { namespace: namespace.into(), source: source.into() }
    }

    pub fn count(&self, metric: &str, count: u64) {
        if count > 0 {
            println!("{}", emf_line(&self.namespace, &self.source, metric, count, jiff::Timestamp::now().as_millisecond()));
        }
    }
}
