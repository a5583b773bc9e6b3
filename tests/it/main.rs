//! One integration test binary: real stores (the embedded fjall store, and DynamoDB over HTTP via moto on
//! 127.0.0.1), a LINE API stand-in checked against LINE's OpenAPI spec, and the real binaries.

mod support;

mod archive_contract;
mod archive_failures;
mod backfill;
mod classifier_evaluation;
mod cognito;
mod console;
mod console_files;
mod contract;
mod crash;
mod dynamodb_costs;
mod e2e;
mod export;
mod export_jobs;
mod faq_evaluation;
mod fixtures;
mod fuzz_corpus;
mod lambda_events;
mod least_privilege;
mod media;
mod migration;
mod model_answers;
mod notify;
mod operator;
mod overload;
mod reconcile;
mod replays;
mod reply_once;
mod rules_e2e;
mod service_contract;
mod staff_notices;
mod template_alarms;
mod webhook_edge;
