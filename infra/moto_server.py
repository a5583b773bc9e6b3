"""moto's server for the tests, with one change: requests are applied one at a time.

Real DynamoDB makes a conditional write atomic; moto's threaded server does not lock its
in-memory tables, so two concurrent conditional PutItems of one key can both succeed there.
Our idempotency tests race exactly that, so every request runs under one lock (connections are
still accepted concurrently). Binds 127.0.0.1 only.

    python3 infra/moto_server.py PORT
"""

import os
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


def main() -> None:
    port = int(sys.argv[1])
    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serialised(environ, start_response):
        with lock:
            # Consume the whole response under the lock: moto builds it lazily.
            return list(app(environ, start_response))

    run_simple("127.0.0.1", port, serialised, threaded=True)


if __name__ == "__main__":
    main()
