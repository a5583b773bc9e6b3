//! The status table walked row by row, against the codes `openapi/operator-api.yml` documents,
//! and every layer's errors sorted into the kinds they must be.

use super::*;
use crate::errors::Fault;
use crate::http::operator::Failure;

/// The table as documented: (kind, status, code).
const DOCUMENTED: [(Kind, u16, &str); 24] = [
    (Kind::BodyTooLarge, 413, "body_too_large"),
    (Kind::BadRequest, 400, "bad_request"),
    (Kind::SignatureMissing, 401, "signature_missing"),
    (Kind::SignatureInvalid, 401, "signature_invalid"),
    (Kind::MalformedBody, 400, "malformed_body"),
    (Kind::WrongDestination, 403, "wrong_destination"),
    (Kind::Unauthorized, 401, "unauthorized"),
    (Kind::Forbidden, 403, "forbidden"),
    (Kind::NoRoute, 404, "no_route"),
    (Kind::MethodNotAllowed, 405, "method_not_allowed"),
    (Kind::NotFound, 404, "not_found"),
    (Kind::Invalid, 400, "invalid"),
    (Kind::LimitReached, 422, "limit_reached"),
    (Kind::NotAllowed, 409, "not_allowed"),
    (Kind::Conflict, 409, "conflict"),
    (Kind::StoreUnavailable, 503, "store_unavailable"),
    (Kind::StoreRefused, 400, "invalid_input"),
    (Kind::ReplyInFlight, 503, "reply_in_flight"),
    (Kind::LineUnavailable, 503, "line_unavailable"),
    (Kind::LineRefused, 502, "line_refused"),
    (Kind::ArchiveUnavailable, 503, "archive_unavailable"),
    (Kind::ExportStorageUnavailable, 503, "export_storage_unavailable"),
    (Kind::ExportRunnerUnavailable, 503, "export_runner_unavailable"),
    (Kind::Internal, 500, "internal_error"),
];

#[test]
fn every_kind_answers_the_status_and_code_documented() {
    assert_eq!(Kind::ALL.to_vec(), DOCUMENTED.iter().map(|(k, _, _)| *k).collect::<Vec<_>>(), "every kind has one row");
    for (kind, status, code) in DOCUMENTED {
        assert_eq!(kind.answer(), (StatusCode::from_u16(status).unwrap(), code), "{kind:?}");
    }
    let mut codes: Vec<&str> = DOCUMENTED.iter().map(|(_, _, c)| *c).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), DOCUMENTED.len(), "each code names one kind");
}

#[test]
fn only_client_errors_and_lines_outcomes_show_their_message() {
    for kind in Kind::ALL {
        let (status, _) = kind.answer();
        let expected = status.is_client_error() || matches!(kind, Kind::LineRefused | Kind::LineUnavailable);
        assert_eq!(kind.shows_message(), expected, "{kind:?}");
    }
}

#[test]
fn the_operator_api_document_lists_every_code_it_can_answer() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/operator-api.yml");
    let doc: serde_json::Value = serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let schema = &doc["components"]["schemas"]["ErrorCode"];
    let listed: Vec<&str> = schema["enum"].as_array().expect("ErrorCode lists its codes").iter().map(|c| c.as_str().unwrap()).collect();
    let operator: Vec<Kind> = Kind::ALL.into_iter().filter(|k| !Kind::WEBHOOK_ONLY.contains(k)).collect();
    for kind in &operator {
        let (status, code) = kind.answer();
        assert!(listed.contains(&code), "{code} is not in ErrorCode's enum");
        assert_eq!(schema["x-status"][code].as_u64(), Some(u64::from(status.as_u16())), "x-status of {code}");
    }
    let answered: Vec<&str> = operator.iter().map(|k| k.answer().1).collect();
    let stray: Vec<&&str> = listed.iter().filter(|c| !answered.contains(c)).collect();
    assert!(stray.is_empty(), "documented but never answered: {stray:?}");
    assert_eq!(schema["x-status"].as_object().unwrap().len(), listed.len());
}

// --- Sorting: each layer's errors into kinds. ---

/// Every kind of store failure (the only place these tests build `StoreError`s).
fn store_errors() -> Vec<(StoreError, Kind)> {
    vec![
        (StoreError::unavailable_because("down"), Kind::StoreUnavailable),
        (StoreError::Throttled { context: "slow".into(), source: "slow".into() }, Kind::StoreUnavailable),
        (StoreError::Conflict("k".into()), Kind::Conflict),
        (StoreError::Invalid { context: "key too long".into(), source: "key too long".into() }, Kind::StoreRefused),
        (StoreError::corrupt_because("k", "bad"), Kind::Internal),
    ]
}

#[test]
fn store_failures_sort_by_meaning_and_the_webhook_keeps_conflicts_retryable() {
    for (e, kind) in store_errors() {
        assert_eq!(store_kind(&e), kind, "{e:?}");
        let webhook = ApiError::Service(ServiceError::Store(e)).kind();
        // LINE does not redeliver a 4xx: only the input's own fault may be one.
        let expected = if kind == Kind::Conflict { Kind::StoreUnavailable } else { kind };
        assert_eq!(webhook, expected);
    }
}

#[test]
fn webhook_failures_sort_as_before() {
    let cases = [
        (ApiError::TooLarge(1), Kind::BodyTooLarge),
        (ApiError::BadRequest("x".into()), Kind::BadRequest),
        (ApiError::Service(ServiceError::Signature(SignatureError::Missing)), Kind::SignatureMissing),
        (ApiError::Service(ServiceError::Malformed(crate::domain::event::WebhookBody::parse(b"{").unwrap_err())), Kind::MalformedBody),
        (ApiError::Service(ServiceError::Destination { got: "U1".into() }), Kind::WrongDestination),
        (ApiError::Service(ServiceError::InFlight("r".into())), Kind::ReplyInFlight),
    ];
    for (e, kind) in cases {
        assert_eq!(e.kind(), kind, "{e:?}");
    }
}

fn archive_storage(fault: Fault) -> ArchiveError {
    ArchiveError::Storage { fault, detail: "S3 PutObject".into(), source: None }
}

fn export_storage(fault: Fault) -> ExportError {
    ExportError::storage(fault, "S3 PutObject: NoSuchBucket", None)
}

#[test]
fn archive_and_export_failures_have_codes_of_their_own() {
    for fault in [Fault::Unavailable, Fault::Throttled, Fault::NotFound, Fault::Refused] {
        assert_eq!(archive_kind(&archive_storage(fault)), Kind::ArchiveUnavailable);
        assert_eq!(Failure::from(export_storage(fault)).kind(), Kind::ExportStorageUnavailable);
    }
    assert_eq!(archive_kind(&ArchiveError::Corrupt { key: "k".into(), problem: "p".into(), source: None }), Kind::Internal);
    for (e, kind) in store_errors() {
        assert_eq!(archive_kind(&ArchiveError::Store(e)), kind);
    }
    let id = crate::domain::export_job::ExportJobId::from_random(uuid::Uuid::new_v4().as_u128());
    let cases = [
        (ExportError::launch("the local export runner has stopped", None), Kind::ExportRunnerUnavailable),
        (ExportError::Write("disk full".into()), Kind::Internal),
        (ExportError::UnknownJob(id), Kind::NotFound),
        (ExportError::Request(crate::domain::export_job::RequestError::NoConversations), Kind::Invalid),
        (ExportError::Store(StoreError::unavailable_because("down")), Kind::StoreUnavailable),
    ];
    for (e, kind) in cases {
        assert_eq!(export_kind(&e), kind, "{e:?}");
        assert_eq!(Failure::from(e).kind(), kind);
    }
}

#[test]
fn operator_failures_sort_into_the_table() {
    let line = |e: LineApiError| Failure::Operator(OperatorError::Line(e)).kind();
    assert_eq!(line(LineApiError::Unavailable { attempts: 4, last: "HTTP 500".into() }), Kind::LineUnavailable);
    assert_eq!(line(LineApiError::Rejected { status: 400, message: "bad".into() }), Kind::LineRefused);
    assert_eq!(line(LineApiError::InvalidReplyToken), Kind::LineRefused);
    let cases = [
        (Failure::Unauthorized, Kind::Unauthorized),
        (Failure::Forbidden("x".into()), Kind::Forbidden),
        (Failure::BadRequest("x".into()), Kind::BadRequest),
        (Failure::TooLarge(1), Kind::BodyTooLarge),
        (Failure::NoRoute, Kind::NoRoute),
        (Failure::MethodNotAllowed, Kind::MethodNotAllowed),
        (OperatorError::NotFound("tag".into()).into(), Kind::NotFound),
        (OperatorError::invalid("name", "empty").into(), Kind::Invalid),
        (OperatorError::Limit("200 tags".into()).into(), Kind::LimitReached),
        (OperatorError::NotAllowed("never wrote".into()).into(), Kind::NotAllowed),
        (OperatorError::Conflict("stale".into()).into(), Kind::Conflict),
        (OperatorError::Archive(archive_storage(Fault::Unavailable)).into(), Kind::ArchiveUnavailable),
    ];
    for (e, kind) in cases {
        assert_eq!(e.kind(), kind, "{e:?}");
    }
    for (e, kind) in store_errors() {
        assert_eq!(Failure::Operator(OperatorError::Store(e)).kind(), kind);
    }
}

#[tokio::test]
async fn an_opaque_answer_says_only_to_try_again() {
    let e = Failure::from(export_storage(Fault::NotFound));
    let response = e.into_response();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = axum::body::to_bytes(response.into_body(), 1024).await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body, json!({ "error": "export_storage_unavailable", "message": "temporarily unavailable; try again" }));
}
