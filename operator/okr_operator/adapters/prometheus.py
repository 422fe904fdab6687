"""Instant queries against anything that speaks the Prometheus HTTP API.

prometheus-api-client builds the HTTP session: auth, headers, TLS verification
and retries with backoff. Its ``custom_query`` however keeps only
``data.result`` and turns errors into the repr of the raw body, which loses the
``resultType`` (a scalar and a string look alike), Prometheus's ``warnings`` and
the structured ``errorType``/``error`` that users must see in conditions. So
the query itself goes through the library's session and we keep the whole
envelope; interpreting it is the pure domain's job (``domain.promql_result``).

The client is synchronous (requests); each call runs in a dedicated thread
pool so a slow Prometheus never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import requests
from prometheus_api_client import PrometheusConnect
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

from okr_operator.adapters.redaction import Redactor, redact_userinfo
from okr_operator.domain.model import QueryLanguage
from okr_operator.domain.text import printable

_MAX_ERROR_BODY = 300
DEFAULT_MAX_RESPONSE_BYTES = 4 << 20
_CHUNK_BYTES = 64 << 10
# How long after a source's deadline the event loop stops waiting for its
# thread (which normally reports the deadline itself, in its own words).
_GRACE_SECONDS = 1.0


def redact(text: str) -> str:
    """Remove ``user:password@`` from any URL in ``text``."""
    return redact_userinfo(text)


def error_envelope(error_type: str, message: str) -> dict[str, Any]:
    """Shape a transport failure like a Prometheus error response.

    ``message`` must already be redacted against the source's credentials.
    """
    return {"status": "error", "errorType": error_type, "error": redact(message)}


@dataclass(frozen=True, slots=True)
class Connection:
    """How to reach one endpoint. ``headers`` may hold credentials: never log it."""

    url: str
    timeout: timedelta = timedelta(seconds=30)
    headers: Mapping[str, str] = field(default_factory=dict)
    basic_auth: tuple[str, str] | None = None
    ca_file: str | None = None
    insecure_skip_verify: bool = False

    def __repr__(self) -> str:
        # Keeps header values and passwords out of logs and tracebacks.
        return f"Connection(url={redact(self.url)!r}, timeout={self.timeout})"

    def redactor(self) -> Redactor:
        """Masks every credential of this connection in text from its upstream."""
        return Redactor.for_credentials(headers=self.headers, basic_auth=self.basic_auth)


class PrometheusQuerier:
    """A ``services.ports.Querier`` for one endpoint."""

    def __init__(
        self,
        connection: Connection,
        *,
        executor: ThreadPoolExecutor,
        language: QueryLanguage = QueryLanguage.PROMQL,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self._connection = connection
        self._language = language
        self._max_response_bytes = max_response_bytes
        self._executor = executor
        self._redactor = connection.redactor()
        url = connection.url.rstrip("/")
        session = requests.Session()
        if connection.insecure_skip_verify:
            session.verify = False
        elif connection.ca_file:
            session.verify = connection.ca_file
        # Retry only what is cheap to retry: refused connections and overload.
        # A 503 or 504 from Prometheus usually means the query timed out, and
        # repeating it at once would only double the load that caused it.
        retry = Retry(
            total=2,
            connect=2,
            read=0,
            backoff_factor=0.2,
            status_forcelist=[429, 502],
            allowed_methods=None,
            raise_on_status=False,
        )
        self._client = PrometheusConnect(
            url=url,
            headers=dict(connection.headers),
            auth=connection.basic_auth,
            session=session,
            retry=retry,
            timeout=int(connection.timeout.total_seconds()) or 1,
            method="POST",
        )
        # The library mounts a pool of 10 connections; the executor may run more
        # queries at once than that against one endpoint.
        size = max(10, executor._max_workers)
        session.mount(url, HTTPAdapter(max_retries=retry, pool_maxsize=size))
        self._url = url

    @property
    def language(self) -> QueryLanguage:
        """The language the server speaks (spec.queryLanguage of the source)."""
        return self._language

    @property
    def url(self) -> str:
        """The endpoint, without credentials."""
        return redact(self._url)

    async def query(self, promql: str, at: datetime) -> Mapping[str, Any]:
        """Run an instant query at ``at``; failures come back as error envelopes.

        ``spec.timeout`` is a deadline for the whole request, from here to the
        last byte of the body; the thread normally reports it itself, the event
        loop stops waiting a moment later in case a read overruns it.
        """
        timeout = self._connection.timeout.total_seconds()
        deadline = time.monotonic() + timeout
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, self._query_sync, promql, at, deadline)
        try:
            return await asyncio.wait_for(future, timeout + _GRACE_SECONDS)
        except TimeoutError:
            return self._timed_out()

    async def query_range(
        self, promql: str, start: datetime, end: datetime, step: timedelta
    ) -> Mapping[str, Any]:
        """Run a range query from ``start`` to ``end`` every ``step``, with the same deadline."""
        timeout = self._connection.timeout.total_seconds()
        deadline = time.monotonic() + timeout
        form = {
            "query": promql,
            "start": f"{start.timestamp():.3f}",
            "end": f"{end.timestamp():.3f}",
            "step": f"{step.total_seconds():g}s",
            "timeout": f"{max(timeout - 1, 1):g}s",
        }
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(
            self._executor, self._request_sync, "/api/v1/query_range", form, deadline
        )
        try:
            return await asyncio.wait_for(future, timeout + _GRACE_SECONDS)
        except TimeoutError:
            return self._timed_out()

    def _request_sync(
        self, path: str, form: Mapping[str, str], deadline: float
    ) -> Mapping[str, Any]:
        if deadline <= time.monotonic():
            return self._timed_out()
        try:
            status_code, body = self._post_form(path, form, deadline)
        except (requests.RequestException, _TooLargeError, _DeadlineError) as err:
            return self._failure(err)
        return _envelope_from(status_code, body, self.url, self._redactor)

    def close(self) -> None:
        """Release the HTTP connections."""
        self._client.close()

    def _timed_out(self) -> dict[str, Any]:
        timeout = self._connection.timeout.total_seconds()
        return error_envelope(
            "timeout",
            f"timed out waiting for an answer from {self.url}: "
            f"no complete answer within {timeout:g}s (the source's timeout)",
        )

    def _query_sync(self, promql: str, at: datetime, deadline: float) -> Mapping[str, Any]:
        if deadline <= time.monotonic():
            return self._timed_out()  # it waited in the queue for the whole timeout
        try:
            status_code, body = self._post(promql, at, deadline)
        except (requests.RequestException, _TooLargeError, _DeadlineError) as err:
            return self._failure(err)
        return _envelope_from(status_code, body, self.url, self._redactor)

    def _post(self, promql: str, at: datetime, deadline: float) -> tuple[int, bytes]:
        timeout = self._connection.timeout.total_seconds()
        form = {
            "query": promql,
            "time": f"{at.timestamp():.3f}",
            # Prometheus stops the query itself a little before we give up on
            # it, so its own error text reaches the user instead of ours.
            "timeout": f"{max(timeout - 1, 1):g}s",
        }
        return self._post_form("/api/v1/query", form, deadline)

    def _post_form(self, path: str, form: Mapping[str, str], deadline: float) -> tuple[int, bytes]:
        session = self._client._session
        response = session.post(
            f"{self._url}{path}",
            data=dict(form),
            headers=self._client.headers,
            auth=self._client.auth,
            timeout=deadline - time.monotonic(),
            # The body is read below: bounded in size and in time.
            stream=True,
            # Explicitly: with verify unset, requests lets REQUESTS_CA_BUNDLE or
            # CURL_CA_BUNDLE from the environment replace the source's own CA.
            verify=session.verify,
        )
        with response:
            return response.status_code, _read_body(response, deadline, self._max_response_bytes)

    def _failure(self, err: Exception) -> dict[str, Any]:
        """The error envelope of a request that got no usable answer."""
        timeout = self._connection.timeout.total_seconds()
        if isinstance(err, _TooLargeError):
            limit = _format_bytes(self._max_response_bytes)
            kind, message = (
                "response_too_large",
                f"{self.url} answered more than {limit}, the limit of okr run "
                "--max-response-bytes (a key result's query must yield one number)",
            )
        elif isinstance(err, requests.exceptions.SSLError):
            kind = "tls"
            message = f"TLS with {self.url} failed: {self._redactor.text(_tls_reason(err))}"
        elif isinstance(err, requests.ConnectTimeout):
            kind, message = (
                "unreachable",
                f"cannot reach {self.url}: no connection within {timeout:g}s",
            )
        elif isinstance(err, _DeadlineError) or _read_timed_out(err):
            return self._timed_out()
        elif isinstance(err, requests.ConnectionError):
            kind = "unreachable"
            message = f"cannot reach {self.url}: {self._redactor.text(_root_cause(err))}"
        else:
            reason = printable(self._redactor.text(str(err)), _MAX_ERROR_BODY)
            kind, message = "request_failed", f"request to {self.url} failed: {reason}"
        return error_envelope(kind, message)


class _TooLargeError(Exception):
    """The answer is larger than the response size limit."""


class _DeadlineError(Exception):
    """The source's timeout passed while the body was still arriving."""


def _read_body(response: requests.Response, deadline: float, limit: int) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _TooLargeError
    chunks: list[bytes] = []
    size = 0
    _read_timeout(response, deadline)
    # Decoded (gunzipped) bytes count: the limit bounds memory, not the wire.
    for chunk in response.iter_content(_CHUNK_BYTES):
        size += len(chunk)
        if size > limit:
            raise _TooLargeError
        chunks.append(chunk)
        _read_timeout(response, deadline)
    return b"".join(chunks)


def _read_timeout(response: requests.Response, deadline: float) -> None:
    # requests' timeout applies to each read, so a server sending a byte now
    # and then would never hit it. Before every read the socket is given only
    # what is left of the deadline.
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _DeadlineError
    sock = getattr(getattr(response.raw, "connection", None), "sock", None)
    if sock is not None:
        sock.settimeout(remaining)


def _read_timed_out(err: BaseException) -> bool:
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, ReadTimeoutError | requests.ReadTimeout | TimeoutError):
            return True
        nested = [a for a in getattr(seen, "args", ()) if isinstance(a, BaseException)]
        seen = nested[0] if nested else (seen.__cause__ or seen.__context__)
    return False


def _format_bytes(count: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= size and count % size == 0:
            return f"{count // size} {unit}"
    return f"{count} bytes"


def _envelope_from(
    status_code: int, body: bytes, url: str, redactor: Redactor
) -> Mapping[str, Any]:
    try:
        decoded = json.loads(body)
    except ValueError:
        decoded = None
    if isinstance(decoded, dict) and decoded.get("status") in ("success", "error"):
        # Prometheus's own error text and warnings reach status: an auth proxy
        # answering in Prometheus's shape may quote the request in them too.
        redacted: Mapping[str, Any] = redactor.value(decoded)
        return redacted
    # Redact the whole body before cutting it: a cut could split a token.
    # Then escape NUL, control and escape bytes and cut: a body may be binary.
    text = printable(redactor.text(body.decode("utf-8", "replace")), _MAX_ERROR_BODY)
    return error_envelope(
        f"http_{status_code}",
        f"{url} answered HTTP {status_code}" + (f": {text}" if text else ""),
    )


def _tls_reason(err: BaseException) -> str:
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return (
                f"certificate verify failed: {seen.verify_message} "
                "(spec.tls of the source names the CA that signed the server's certificate)"
            )
        for arg in getattr(seen, "args", ()):
            if isinstance(arg, BaseException) and arg is not seen:
                nested = _tls_reason(arg)
                if nested:
                    return nested
        seen = seen.__cause__ or seen.__context__
    return ""


def _root_cause(err: BaseException) -> str:
    # requests wraps urllib3 wraps socket errors; the innermost says what happened
    # ("Connection refused") without the long chain of class names.
    seen: BaseException = err
    while True:
        nxt = seen.__cause__ or seen.__context__
        if nxt is None or nxt is seen:
            break
        seen = nxt
    reason = getattr(seen, "reason", None)
    text = str(reason or seen)
    match = re.search(r"\[Errno -?\d+\] ([^')\]]+)", text)
    return match.group(1) if match else printable(text, _MAX_ERROR_BODY)
