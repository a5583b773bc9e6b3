//! CloudWatch Embedded Metric Format, pure: one JSON log line that CloudWatch Logs turns into a
//! metric, so the archiver reports counts without calling the CloudWatch API.

use serde_json::json;

/// Log items removed by TTL that were not in the archive (archived late from the old image).
pub const UNARCHIVED_TTL_REMOVALS: &str = "UnarchivedTtlRemovals";
/// Media messages whose content could not be fetched from LINE after every retry.
pub const MEDIA_FETCH_FAILURES: &str = "MediaFetchFailures";
/// Media downloads given up after trying again for two weeks (LINE has dropped the content).
pub const MEDIA_GIVEN_UP: &str = "MediaGivenUp";
/// Log items the backfill sweep found missing from the archive and archived (the stream archiver
/// lost or has not reached them).
pub const ARCHIVE_BACKFILLED: &str = "ArchiveBackfilled";
/// Stream records of log items the archiver could not read: the batch fails (retried, then parked).
pub const UNREADABLE_STREAM_RECORDS: &str = "UnreadableStreamRecords";
/// Stream records the worker could not handle and will not retry (unreadable, or refused by the
/// store for good): logged with their keys and passed over, so the records behind them go on.
pub const SKIPPED_STREAM_RECORDS: &str = "SkippedStreamRecords";
/// Webhook events older than the replay window, acknowledged and ignored (likely a replay of a
/// captured request; LINE's own redeliveries come far sooner).
pub const STALE_EVENTS_IGNORED: &str = "StaleEventsIgnored";
/// The dimension every metric carries: which process reported it (`archiver`, `worker`, `local`).
pub const SOURCE_DIMENSION: &str = "Source";

/// The EMF line for `count` of `metric` at `at_ms`.
pub fn emf_line(namespace: &str, source: &str, metric: &str, count: u64, at_ms: i64) -> String {
    json!({
        "_aws": {
            "Timestamp": at_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [[SOURCE_DIMENSION]],
                "Metrics": [{ "Name": metric, "Unit": "Count" }]
            }]
        },
        SOURCE_DIMENSION: source,
        metric: count
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_namespace_dimension_and_value_as_emf_requires() {
        let line: serde_json::Value = serde_json::from_str(&emf_line("line-oa/prod", "archiver", UNARCHIVED_TTL_REMOVALS, 3, 42)).unwrap();
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(line["_aws"]["Timestamp"], 42);
        assert_eq!(directive["Namespace"], "line-oa/prod");
        assert_eq!(directive["Dimensions"][0][0], SOURCE_DIMENSION);
        assert_eq!(directive["Metrics"][0]["Name"], UNARCHIVED_TTL_REMOVALS);
        // EMF reads the value and the dimension from top-level members of the same names.
        assert_eq!(line[UNARCHIVED_TTL_REMOVALS], 3);
        assert_eq!(line[SOURCE_DIMENSION], "archiver");
    }
}
