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

    python3 infra/moto_server.py PORT
"""

import json
import os
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


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


def main() -> None:
    port = int(sys.argv[1])
    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serialised(environ, start_response):
        if environ.get("PATH_INFO") == "/moto-api/sns.json":
            with lock:
                body = sns_published()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        with lock:
            # Consume the whole response under the lock: moto builds it lazily.
            body = b"".join(app(environ, capture))
        body, headers = fix_multipart_complete(body, captured["headers"])
        start_response(captured["status"], headers)
        return [body]

    run_simple("127.0.0.1", port, serialised, threaded=True)


if __name__ == "__main__":
    main()
