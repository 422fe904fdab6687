"""A webhook receiver for Alertmanager, served by the test on loopback.

Alertmanager's webhook_configs POST one JSON document per notification
(https://prometheus.io/docs/alerting/latest/configuration/#webhook_config);
this keeps them in arrival order for the test to inspect. It runs in a daemon
thread and is shut down by the ``with`` block, so it never outlives the test.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from tests.support.processes import LOOPBACK

# Notifications beyond this are answered but not kept: a misrouted storm of
# alerts must not grow the test's memory without bound.
MAX_KEPT = 500
MAX_BODY = 1_000_000


class WebhookReceiver:
    """``with WebhookReceiver() as hook: ... hook.url ... hook.notifications()``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[dict[str, Any]] = []
        self._server = ThreadingHTTPServer((LOOPBACK, 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self._server.server_port}/alerts"

    def notifications(self) -> list[dict[str, Any]]:
        """Every payload received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._received)

    def _keep(self, payload: dict[str, Any]) -> None:
        with self._lock:
            if len(self._received) < MAX_KEPT:
                self._received.append(payload)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 10  # a stuck client cannot hold a handler thread forever

            def do_POST(self) -> None:
                length = min(int(self.headers.get("Content-Length", "0")), MAX_BODY)
                body = self.rfile.read(length)
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = {"unparsable": body.decode(errors="replace")}
                receiver._keep(payload)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base name
                pass  # keep pytest's output clean

        return Handler

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
