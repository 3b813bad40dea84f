"""The AWS Lambda Runtime API on 127.0.0.1, for running the real ``awslambdaric`` in tests.

Routes (AWS Lambda developer guide, "Using the Lambda runtime API for custom runtimes"):

- ``GET  /2018-06-01/runtime/invocation/next``: the next event, with the request id and
  deadline in ``Lambda-Runtime-*`` headers; blocks when there is none (as Lambda freezes the
  environment), for at most ``idle_timeout`` seconds, then answers 500;
- ``POST /2018-06-01/runtime/invocation/{id}/response``: the handler's result (202);
- ``POST /2018-06-01/runtime/invocation/{id}/error``: the handler raised (202);
- ``POST /2018-06-01/runtime/init/error``: the function failed to initialise (202).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional

PREFIX = "/2018-06-01/runtime"


class RuntimeAPI:
    def __init__(self, events: List[Any], idle_timeout: float = 30.0) -> None:
        self.pending = list(events)
        self.idle_timeout = idle_timeout
        self.responses: Dict[str, Any] = {}
        self.errors: Dict[str, Any] = {}
        self.init_errors: List[Dict[str, Any]] = []
        self.next_calls = 0
        self.cond = threading.Condition()
        self.stopping = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _reply(
                self, code: int, body: bytes = b"", headers: Optional[Dict[str, str]] = None
            ) -> None:
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path != f"{PREFIX}/invocation/next":
                    self._reply(404)
                    return
                event = api._take()
                if event is None:
                    self._reply(500, b'{"errorMessage": "no more events"}')
                    return
                request_id, payload = event
                self._reply(
                    200,
                    json.dumps(payload).encode(),
                    {
                        "Content-Type": "application/json",
                        "Lambda-Runtime-Aws-Request-Id": request_id,
                        "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + 30_000),
                        "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:000000000000:function:guarded",
                        "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000;Sampled=0",
                    },
                )

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body: Any = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                path = self.path
                with api.cond:
                    if path == f"{PREFIX}/init/error":
                        api.init_errors.append(
                            {
                                "type": self.headers.get("Lambda-Runtime-Function-Error-Type"),
                                "body": body,
                            }
                        )
                    elif path.startswith(f"{PREFIX}/invocation/") and path.endswith("/response"):
                        api.responses[path.split("/")[-2]] = body
                    elif path.startswith(f"{PREFIX}/invocation/") and path.endswith("/error"):
                        api.errors[path.split("/")[-2]] = body
                    else:
                        self._reply(404)
                        return
                    api.cond.notify_all()
                self._reply(202, b'{"status": "OK"}', {"Content-Type": "application/json"})

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # the runtime client hangs up when the test stops it

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{host}:{port}"

    def _take(self) -> Optional[Any]:
        deadline = time.monotonic() + self.idle_timeout
        with self.cond:
            self.next_calls += 1
            while not self.pending and not self.stopping.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(min(left, 0.5))
            if not self.pending:
                return None
            return (f"req-{self.next_calls:04d}", self.pending.pop(0))

    def wait_for(self, count: int, timeout: float = 60.0) -> bool:
        """Wait until ``count`` invocations have answered, or an init error came."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.responses) + len(self.errors) < count and not self.init_errors:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 0.5))
        return True

    def __enter__(self) -> RuntimeAPI:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stopping.set()
        with self.cond:
            self.cond.notify_all()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
