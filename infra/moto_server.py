"""moto's server for the tests, with one change: requests are applied one at a time.

Real DynamoDB makes a conditional write atomic; moto's threaded server does not lock its
in-memory tables, so two concurrent conditional PutItems of one key can both succeed there.
Our idempotency tests race exactly that, so every request runs under one lock (connections are
still accepted concurrently). Binds 127.0.0.1 only.

Also serves `/moto-api/sns.json`: the topics and what was published to them, from moto's SNS
backend. (moto's own `/moto-api/data.json` dumps every service and fails once S3 holds binary
objects, which other tests put there.)

Also fixes one response: moto 5.2 names CompleteMultipartUpload's XML root
`CompleteMultipartUploadResponse`; S3 (and so the AWS SDK) says `CompleteMultipartUploadResult`.

And keeps a request log for the tests: every DynamoDB request served, with what DynamoDB
would bill for it (`dynamodb_bill.py` says how). `GET /_requests?table=T` returns table T's
entries, oldest first, as JSON (`{"requests": [...]}`; without `table`, every table's);
`DELETE /_requests?table=T` forgets them. The tests' tables have unique names, so a test reads
its own requests while others run.

    python3 infra/moto_server.py PORT
"""

import io
import json
import os
import sys
import threading
import traceback
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple
from werkzeug.wrappers import Request

from dynamodb_bill import Plan, Tables


WRONG_ROOT = b"CompleteMultipartUploadResponse"


def fix_multipart_complete(body, headers):
    if WRONG_ROOT not in body[:200]:
        return body, headers
    body = body.replace(WRONG_ROOT, b"CompleteMultipartUploadResult")
    headers = [(k, str(len(body)) if k.lower() == "content-length" else v) for k, v in headers]
    return body, headers


def sns_published() -> bytes:
    from moto.sns.models import sns_backends

    topics = []
    for account in sns_backends.values():
        for backend in account.values():
            for topic in backend.topics.values():
                topics.append({"arn": topic.arn, "sent_notifications": [list(n) for n in topic.sent_notifications]})
    return json.dumps({"sns": {"Topic": topics}}).encode()


DYNAMODB_TARGET = "DynamoDB_20120810."
REQUEST_LOG = "/_requests"


def json_response(start_response, status, value):
    body = json.dumps(value).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


class BrokenPlan:
    """A request the bill could not be worked out for: logged as such, so a test counting fails."""

    def __init__(self, op, body, error):
        self.op, self.body, self.error = op, body, error
        traceback.print_exception(error, file=sys.stderr)

    def bill(self, status, response):
        table = self.body.get("TableName") if isinstance(self.body, dict) else None
        return [{"op": self.op, "table": table, "key": {}, "wru": 0, "rru": 0, "failed": None, "index": None,
                 "index_writes": [], "billing_error": repr(self.error)}]


class RequestLog:
    """Every DynamoDB request served, billed (see `dynamodb_bill.py`); read under the server's lock."""

    def __init__(self):
        self.entries = []
        self.tables = None

    def plan(self, environ):
        """The request's plan when it is a DynamoDB one (its body kept for moto), else None."""
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith(DYNAMODB_TARGET):
            return None
        raw = Request(environ).get_data(cache=True)
        environ["wsgi.input"] = io.BytesIO(raw)
        environ["CONTENT_LENGTH"] = str(len(raw))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return None
        if self.tables is None:
            self.tables = Tables()
        op = target[len(DYNAMODB_TARGET):]
        try:
            return Plan(self.tables, op, body)
        except Exception as e:  # noqa: BLE001 - a billing bug shows in the log, never fails the request
            return BrokenPlan(op, body, e)

    def record(self, plan, status, body):
        try:
            response = json.loads(body or b"{}")
        except ValueError:
            response = {}
        try:
            entries = plan.bill(int(status.split()[0]), response)
        except Exception as e:  # noqa: BLE001
            entries = BrokenPlan(plan.op, plan.body, e).bill(0, {})
        for entry in entries:
            entry["seq"] = len(self.entries)
            self.entries.append(entry)

    def serve(self, environ, start_response):
        table = parse_qs(environ.get("QUERY_STRING", "")).get("table", [None])[0]
        mine = [e for e in self.entries if table is None or e["table"] == table]
        if environ.get("REQUEST_METHOD") == "DELETE":
            self.entries = [e for e in self.entries if not (table is None or e["table"] == table)]
            return json_response(start_response, "200 OK", {"forgotten": len(mine)})
        return json_response(start_response, "200 OK", {"requests": mine})


def main() -> None:
    port = int(sys.argv[1])
    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()
    log = RequestLog()

    def serialised(environ, start_response):
        if environ.get("PATH_INFO") == "/moto-api/sns.json":
            with lock:
                body = sns_published()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        if environ.get("PATH_INFO") == REQUEST_LOG:
            with lock:
                return log.serve(environ, start_response)
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        with lock:
            plan = log.plan(environ)
            # Consume the whole response under the lock: moto builds it lazily.
            body = b"".join(app(environ, capture))
            if plan is not None:
                log.record(plan, captured["status"], body)
        body, headers = fix_multipart_complete(body, captured["headers"])
        start_response(captured["status"], headers)
        return [body]

    run_simple("127.0.0.1", port, serialised, threaded=True)


if __name__ == "__main__":
    main()
