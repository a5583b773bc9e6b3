//! The clock, injected: every use case and adapter that needs the time is handed one, so
//! tests control time and only the entrypoints pick the system clock.

use std::sync::Arc;

/// Milliseconds since the Unix epoch.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(|| jiff::Timestamp::now().as_millisecond())
}
