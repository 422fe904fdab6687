"""A misbehaving "Prometheus" on loopback, for the cases a real one cannot produce.

A real Prometheus never echoes request headers into an error body, never
trickles a byte every few seconds, never answers 50 MB to an instant query and
never answers NUL bytes; auth proxies, gateways and broken backends in front of
one do. The behaviour is chosen by the first path segment of the source's URL
(``http://127.0.0.1:PORT/echo401`` queries ``/echo401/api/v1/query``), so one
server serves every case of a test module.

Every sleep waits on the server's stop event, so ``close()`` ends all of them
at once and no thread outlives the test.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SCALAR = b'{"status":"success","data":{"resultType":"scalar","result":[1700000000,"42"]}}'


class FakeUpstream:
    """The running server: ``url(mode)`` is a source URL, ``requests`` counts per mode."""

    def __init__(self, server: ThreadingHTTPServer, stop: threading.Event) -> None:
        self._server = server
        self.stop = stop
        self.requests: dict[str, int] = {}
        self.lock = threading.Lock()
        # What mode "value" answers, as a scalar; a test changes it at will.
        self.value = "42"

    def url(self, mode: str) -> str:
        """The base URL of one behaviour."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/{mode}"

    def count(self, mode: str) -> int:
        """How many queries reached ``mode`` so far."""
        with self.lock:
            return self.requests.get(mode, 0)


class _Server(ThreadingHTTPServer):
    upstream: FakeUpstream
    trickle_seconds: float
    huge_bytes: int


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib's name
        pass

    def do_POST(self) -> None:
        upstream = self.server.upstream
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        mode = self.path.strip("/").split("/", 1)[0]
        with upstream.lock:
            upstream.requests[mode] = upstream.requests.get(mode, 0) + 1
        getattr(self, f"_{mode}", self._unknown)(upstream)

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _unknown(self, upstream: FakeUpstream) -> None:
        self._answer(404, b"unknown mode", "text/plain")

    def _ok(self, upstream: FakeUpstream) -> None:
        self._answer(200, SCALAR, "application/json")

    def _echo401(self, upstream: FakeUpstream) -> None:
        # What a debugging auth proxy does: quote the request back.
        lines = "\n".join(f"{k}: {v}" for k, v in self.headers.items())
        self._answer(401, f"unauthorized request:\n{lines}\n".encode(), "text/plain")

    def _echojson(self, upstream: FakeUpstream) -> None:
        # Same, in Prometheus's error shape, so the error text is taken as is.
        echoed = "; ".join(f"{k}={v}" for k, v in self.headers.items())
        body = {"status": "error", "errorType": "auth", "error": f"denied {echoed}"}
        self._answer(401, json.dumps(body).encode(), "application/json")

    def _binary(self, upstream: FakeUpstream) -> None:
        self._answer(502, b"bad\x00gateway\x1b[31m " + b"x" * 5000, "application/octet-stream")

    def _value(self, upstream: FakeUpstream) -> None:
        body = {
            "status": "success",
            "data": {"resultType": "scalar", "result": [0, upstream.value]},
        }
        self._answer(200, json.dumps(body).encode(), "application/json")

    def _nuljson(self, upstream: FakeUpstream) -> None:
        # Prometheus's error shape, its text full of what JSON may escape:
        # NUL, a terminal escape, a bidi override, a newline; and long.
        error = "bad\x00query\x1b[2J\u202eevil\nline " + "y" * 5000
        body = {"status": "error", "errorType": "bad_data", "error": error, "warnings": [error]}
        self._answer(400, json.dumps(body).encode(), "application/json")

    def _hang(self, upstream: FakeUpstream) -> None:
        upstream.stop.wait(600)

    def _stall(self, upstream: FakeUpstream) -> None:
        # Headers and half the body, then silence: a read times out mid-body.
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(SCALAR)))
        self.end_headers()
        self.wfile.write(SCALAR[:20])
        self.wfile.flush()
        upstream.stop.wait(600)

    def _trickle(self, upstream: FakeUpstream) -> None:
        # Headers at once, then one byte every few seconds: every read
        # succeeds, so only a deadline on the whole request ends it.
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(SCALAR)))
        self.end_headers()
        try:
            for byte in SCALAR:
                if upstream.stop.wait(self.server.trickle_seconds):
                    return
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up: that is the point

    def _huge(self, upstream: FakeUpstream) -> None:
        # A vector of many series, streamed without a Content-Length
        # (chunked), as a real backend would send a big answer.
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        series = b'{"metric":{"pad":"' + b"x" * 1000 + b'"},"value":[1700000000,"1"]},'
        chunk = series * 64
        sent = 0
        try:
            self._chunk(b'{"status":"success","data":{"resultType":"vector","result":[')
            while sent < self.server.huge_bytes and not upstream.stop.is_set():
                self._chunk(chunk)
                sent += len(chunk)
            self._chunk(series.rstrip(b",") + b"]}}")
            self._chunk(b"")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up: that is the point

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")


@contextmanager
def fake_upstream(
    *, trickle_seconds: float = 2.0, huge_bytes: int = 50 << 20
) -> Iterator[FakeUpstream]:
    """Serve on 127.0.0.1 (a free port) until the block ends."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    stop = threading.Event()
    upstream = FakeUpstream(server, stop)
    server.upstream, server.trickle_seconds, server.huge_bytes = (
        upstream,
        trickle_seconds,
        huge_bytes,
    )
    thread = threading.Thread(target=server.serve_forever, name="fake-upstream", daemon=True)
    thread.start()
    try:
        yield upstream
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
