"""moto_server, started the same way (-H HOST -p PORT), with faults injected into chosen ECR
operations so that tests can see what throttling and a slow registry do to a sweep.

MOTO_EXT_FAULTS is a JSON object from operation name to fault, for example
    {"GetRepositoryPolicy": {"delaySeconds": 0.25, "throttleEvery": 3}}
delaySeconds: every call waits this long before moto answers it.
throttleEvery: every n-th call is answered as ECR throttles: HTTP 400, ThrottlingException,
"Rate exceeded", in moto's JSON error format.

Everything else is moto's own server, backend and request handling.
"""

import json
import os
import sys
import threading
import time

from moto import server
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

FAULTS = json.loads(os.environ.get("MOTO_EXT_FAULTS") or "{}")


class FaultyApplication(DomainDispatcherApplication):
    counts: dict = {}
    lock = threading.Lock()

    def __call__(self, environ, start_response):
        operation = environ.get("HTTP_X_AMZ_TARGET", "").rsplit(".", 1)[-1]
        fault = FAULTS.get(operation)
        if fault:
            with self.lock:
                n = self.counts[operation] = self.counts.get(operation, 0) + 1
            time.sleep(float(fault.get("delaySeconds", 0)))
            every = int(fault.get("throttleEvery", 0))
            if every and n % every == 0:
                body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
                start_response("400 Bad Request", [
                    ("Content-Type", "application/x-amz-json-1.1"),
                    ("Content-Length", str(len(body))),
                ])
                return [body]
        return super().__call__(environ, start_response)


server.DomainDispatcherApplication = FaultyApplication

if __name__ == "__main__":
    server.main(sys.argv[1:])
