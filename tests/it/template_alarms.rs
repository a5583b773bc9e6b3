//! template.yaml read as data: what cannot run here (CloudWatch, EventBridge, SNS to Lambda on
//! real AWS) is proven on the template. Every alarm notifies the alarm topic, whose e-mail the
//! deploy must be given; the stream has at most two readers, each watched for lag and errors;
//! the archiver's metrics have alarms; the backfill sweep and export jobs are triggered as the
//! code expects.

use std::collections::BTreeSet;

use line_oa::domain::metrics::{
    ARCHIVE_BACKFILLED, MEDIA_FETCH_FAILURES, MEDIA_GIVEN_UP, SKIPPED_STREAM_RECORDS, STALE_EVENTS_IGNORED, UNARCHIVED_TTL_REMOVALS,
    UNREADABLE_STREAM_RECORDS,
};
use line_oa::lambda::archiver::{BACKFILL_BUDGET, BACKFILL_TASK, RETRY_MEDIA_TASK};
use serde_norway::Value;

fn template() -> Value {
    let text = std::fs::read_to_string(crate::support::repo_dir().join("template.yaml")).expect("template.yaml");
    serde_norway::from_str(&text).expect("template.yaml parses")
}

/// `!Ref X` -> "!Ref X", `!Sub "…"` -> "!Sub …", a string as it is.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Tagged(t) => format!("{} {}", t.tag, text(&t.value)),
        Value::Sequence(items) => items.iter().map(text).collect::<Vec<_>>().join(" | "),
        other => serde_norway::to_string(other).unwrap().trim().to_owned(),
    }
}

fn resources<'a>(t: &'a Value, kind: &'a str) -> impl Iterator<Item = (String, &'a Value)> + 'a {
    t["Resources"].as_mapping().unwrap().iter().filter(move |(_, r)| r["Type"].as_str() == Some(kind)).map(|(n, r)| (text(n), r))
}

fn events<'a>(t: &'a Value, function: &str, kind: &'a str) -> Vec<&'a Value> {
    let events = t["Resources"][function]["Properties"]["Events"].as_mapping().cloned().unwrap_or_default();
    let names: Vec<Value> = events.keys().cloned().collect();
    names
        .iter()
        .map(|n| &t["Resources"][function]["Properties"]["Events"][n.as_str().unwrap()])
        .filter(|e| e["Type"].as_str() == Some(kind))
        .collect()
}

fn alarms_on<'a>(t: &'a Value, metric: &str, dimension_value: &str) -> Vec<(String, &'a Value)> {
    resources(t, "AWS::CloudWatch::Alarm")
        .filter(|(_, a)| a["Properties"]["MetricName"].as_str() == Some(metric))
        .filter(|(_, a)| {
            a["Properties"]["Dimensions"].as_sequence().is_some_and(|ds| ds.iter().any(|d| text(&d["Value"]) == dimension_value))
        })
        .collect()
}

#[test]
fn every_alarm_notifies_the_alarm_topic_whose_email_the_deploy_must_be_given() {
    let t = template();
    let email = &t["Parameters"]["AlarmEmail"];
    assert!(email.get("Default").is_none(), "no default: `sam deploy --guided` asks, a plain deploy refuses to go without it");
    assert!(!email["AllowedPattern"].as_str().unwrap().starts_with("^$"), "an empty address is refused");
    let topic = &t["Resources"]["AlarmTopic"];
    assert!(topic.get("Condition").is_none(), "the topic always exists");
    assert_eq!(text(&topic["Properties"]["Subscription"][0]["Endpoint"]), "!Ref AlarmEmail");
    assert_eq!(topic["Properties"]["Subscription"][0]["Protocol"].as_str(), Some("email"));
    let alarms: Vec<_> = resources(&t, "AWS::CloudWatch::Alarm").collect();
    assert!(alarms.len() >= 12, "{}", alarms.len());
    for (name, alarm) in alarms {
        assert_eq!(text(&alarm["Properties"]["AlarmActions"]), "!Ref AlarmTopic", "{name} must notify the alarm topic");
    }
}

#[test]
fn at_most_two_functions_read_the_stream_and_each_is_watched_for_lag_well_before_24_hours_and_for_errors() {
    let t = template();
    let readers: BTreeSet<String> = resources(&t, "AWS::Serverless::Function")
        .filter(|(name, _)| !events(&t, name, "DynamoDB").is_empty())
        .map(|(name, _)| name)
        .collect();
    assert_eq!(readers, BTreeSet::from(["ArchiverFunction".to_owned(), "WorkerFunction".to_owned()]));
    for reader in &readers {
        let stream = events(&t, reader, "DynamoDB");
        assert_eq!(stream.len(), 1, "{reader} reads the stream once");
        assert_eq!(text(&stream[0]["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]), "!GetAtt DeadLetterQueue.Arn");
        let lag = alarms_on(&t, "IteratorAge", &format!("!Ref {reader}"));
        assert_eq!(lag.len(), 1, "{reader} has an IteratorAge alarm");
        let p = &lag[0].1["Properties"];
        let window_ms = p["Period"].as_i64().unwrap() * p["EvaluationPeriods"].as_i64().unwrap() * 1000;
        assert!(p["Threshold"].as_i64().unwrap() + window_ms <= 2 * 3_600_000, "{reader} alarms within two hours, not near 24");
        assert_eq!(p["Statistic"].as_str(), Some("Maximum"));
        assert_eq!(alarms_on(&t, "Errors", &format!("!Ref {reader}")).len(), 1, "{reader} has an Errors alarm");
    }
    assert_eq!(alarms_on(&t, "Errors", "!Ref ExporterFunction").len(), 1, "the exporter has an Errors alarm");
}

#[test]
fn every_metric_the_archiver_counts_has_an_alarm() {
    let t = template();
    for metric in [ARCHIVE_BACKFILLED, UNREADABLE_STREAM_RECORDS, UNARCHIVED_TTL_REMOVALS, MEDIA_FETCH_FAILURES, MEDIA_GIVEN_UP] {
        let alarms = alarms_on(&t, metric, "archiver");
        assert_eq!(alarms.len(), 1, "{metric}");
        let p = &alarms[0].1["Properties"];
        assert_eq!(text(&p["Namespace"]), "!Sub line-oa/${AWS::StackName}", "the archiver's METRICS_NAMESPACE");
        assert_eq!((p["Threshold"].as_i64(), p["ComparisonOperator"].as_str()), (Some(0), Some("GreaterThanThreshold")), "{metric}: any");
    }
    let env = &t["Resources"]["ArchiverFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(text(&env["METRICS_NAMESPACE"]), "!Sub line-oa/${AWS::StackName}");
}

#[test]
fn a_stream_record_the_worker_passes_over_raises_an_alarm() {
    let t = template();
    let alarms = alarms_on(&t, SKIPPED_STREAM_RECORDS, "worker");
    assert_eq!(alarms.len(), 1);
    let p = &alarms[0].1["Properties"];
    assert_eq!(text(&p["Namespace"]), "!Sub line-oa/${AWS::StackName}");
    assert_eq!((p["Threshold"].as_i64(), p["ComparisonOperator"].as_str()), (Some(0), Some("GreaterThanThreshold")), "any");
    let env = &t["Resources"]["WorkerFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(text(&env["METRICS_NAMESPACE"]), "!Sub line-oa/${AWS::StackName}", "the worker writes where the alarm reads");
}

#[test]
fn events_older_than_the_replay_window_raise_an_alarm_from_the_webhook() {
    let t = template();
    let alarms = alarms_on(&t, STALE_EVENTS_IGNORED, "webhook");
    assert_eq!(alarms.len(), 1);
    let p = &alarms[0].1["Properties"];
    assert_eq!(text(&p["Namespace"]), "!Sub line-oa/${AWS::StackName}");
    assert_eq!((p["Threshold"].as_i64(), p["ComparisonOperator"].as_str()), (Some(0), Some("GreaterThanThreshold")));
    let env = &t["Resources"]["WebhookFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(text(&env["METRICS_NAMESPACE"]), "!Sub line-oa/${AWS::StackName}", "the webhook writes where the alarm reads");
}

#[test]
fn the_archiver_is_scheduled_to_backfill_within_its_timeout_and_to_retry_media() {
    let t = template();
    let tasks: BTreeSet<String> = events(&t, "ArchiverFunction", "Schedule")
        .iter()
        .map(|e| {
            serde_json::from_str::<serde_json::Value>(e["Properties"]["Input"].as_str().unwrap()).unwrap()["task"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(tasks, BTreeSet::from([BACKFILL_TASK.to_owned(), RETRY_MEDIA_TASK.to_owned()]));
    let timeout = t["Resources"]["ArchiverFunction"]["Properties"]["Timeout"].as_u64().unwrap();
    assert!(BACKFILL_BUDGET.as_secs() + 60 <= timeout, "a run's budget leaves a page's worth of the {timeout} s timeout");
}

#[test]
fn export_jobs_are_launched_through_their_topic_not_the_stream() {
    let t = template();
    let sns = events(&t, "ExporterFunction", "SNS");
    assert_eq!(sns.len(), 1);
    assert_eq!(text(&sns[0]["Properties"]["Topic"]), "!Ref ExportJobTopic");
    let operator = &t["Resources"]["OperatorFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(text(&operator["EXPORT_JOB_TOPIC_ARN"]), "!Ref ExportJobTopic", "the operator function publishes there");
    let invoke = &t["Resources"]["ExporterFunction"]["Properties"]["EventInvokeConfig"];
    assert_eq!(text(&invoke["DestinationConfig"]["OnFailure"]["Destination"]), "!GetAtt DeadLetterQueue.Arn", "failed runs are parked");
}
