"""/metrics over HTTP, in its own threads (kopf's event loop is not shared).

The body is the concatenation the observer keeps; gzip (when the scraper sends
``Accept-Encoding: gzip``, as Prometheus does) shrinks 10,000 key results'
24 MB to about a twentieth, at level 1 because the text is repetitive enough that
higher levels buy little and cost several times the CPU. ``?name[]=`` keeps the
named families only, as prometheus_client's server did.

``/readyz`` answers the kubelet's readiness probe from ``ready()``: 200 with
its reason when ready, 503 with the reason it is not.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

GZIP_LEVEL = 1
PATHS = ("/metrics", "/")

Render = Callable[[Iterable[str] | None], bytes]
# (ready, one line saying why) for /readyz.
Ready = Callable[[], tuple[bool, str]]
READY_PATH = "/readyz"


def _always_ready() -> tuple[bool, str]:
    return True, "no readiness check configured"


def accepts_gzip(header: str | None) -> bool:
    """Whether an ``Accept-Encoding`` header allows gzip (``q=0`` refuses it)."""
    for item in (header or "").split(","):
        coding, *params = (part.strip().lower() for part in item.split(";"))
        if coding in ("gzip", "*"):
            return not any(
                p.replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000") for p in params
            )
    return False


class MetricsServer:
    """Serves ``render()`` on ``/metrics`` from a thread; ``close()`` stops it."""

    def __init__(
        self, render: Render, *, address: str, port: int, ready: Ready = _always_ready
    ) -> None:
        handler = type(
            "MetricsHandler",
            (_Handler,),
            {"render": staticmethod(render), "ready": staticmethod(ready)},
        )
        self._server = ThreadingHTTPServer((address, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="metrics-http", daemon=True
        )

    @property
    def port(self) -> int:
        """The bound port (useful when started on port 0)."""
        return int(self._server.server_address[1])

    def start(self) -> MetricsServer:
        """Serve in a daemon thread."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: Prometheus reuses its connection
    render: Render
    ready: Ready

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def _respond(self, *, send_body: bool) -> None:
        url = urlsplit(self.path)
        if url.path == READY_PATH:
            ready, reason = self.ready()
            self._send(200 if ready else 503, f"{reason}\n".encode(), "text/plain", send_body)
            return
        if url.path not in PATHS:
            self._send(404, b"Not found: the metrics are on /metrics\n", "text/plain", send_body)
            return
        names = parse_qs(url.query).get("name[]")
        body = self.render(names)
        encoding = None
        if accepts_gzip(self.headers.get("Accept-Encoding")):
            body, encoding = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0), "gzip"
        self._send(200, body, CONTENT_TYPE_PLAIN_0_0_4, send_body, encoding)

    def _send(
        self,
        code: int,
        body: bytes,
        content_type: str,
        send_body: bool,
        encoding: str | None = None,
    ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if encoding:
            self.send_header("Content-Encoding", encoding)
        self.send_header("Vary", "Accept-Encoding")
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base class name
        """Quiet: a line per scrape would drown the operator's own log."""
