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
import re
import ssl
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import requests
from prometheus_api_client import PrometheusConnect
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from okr_operator.adapters.redaction import Redactor, redact_userinfo
from okr_operator.domain.model import QueryLanguage

_MAX_ERROR_BODY = 300


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
    ) -> None:
        self._connection = connection
        self._language = language
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
        """Run an instant query at ``at``; failures come back as error envelopes."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._query_sync, promql, at)

    def close(self) -> None:
        """Release the HTTP connections."""
        self._client.close()

    def _query_sync(self, promql: str, at: datetime) -> Mapping[str, Any]:
        timeout = self._connection.timeout.total_seconds()
        form = {
            "query": promql,
            "time": f"{at.timestamp():.3f}",
            # Prometheus stops the query itself a little before we give up on
            # it, so its own error text reaches the user instead of ours.
            "timeout": f"{max(timeout - 1, 1):g}s",
        }
        try:
            session = self._client._session
            response = session.post(
                f"{self._url}/api/v1/query",
                data=form,
                headers=self._client.headers,
                auth=self._client.auth,
                timeout=timeout,
                # Explicitly: with verify unset, requests lets REQUESTS_CA_BUNDLE or
                # CURL_CA_BUNDLE from the environment replace the source's own CA.
                verify=session.verify,
            )
        except requests.exceptions.SSLError as err:
            reason = self._redactor.text(_tls_reason(err))
            return error_envelope("tls", f"TLS with {self.url} failed: {reason}")
        except requests.Timeout:
            return error_envelope("timeout", f"no answer from {self.url} within {timeout:g}s")
        except requests.ConnectionError as err:
            reason = self._redactor.text(_root_cause(err))
            return error_envelope("unreachable", f"cannot reach {self.url}: {reason}")
        except requests.RequestException as err:
            reason = self._redactor.text(str(err))[:_MAX_ERROR_BODY]
            return error_envelope("request_failed", f"request to {self.url} failed: {reason}")
        return _envelope_from(response, self.url, self._redactor)


def _envelope_from(response: requests.Response, url: str, redactor: Redactor) -> Mapping[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("status") in ("success", "error"):
        # Prometheus's own error text and warnings reach status: an auth proxy
        # answering in Prometheus's shape may quote the request in them too.
        redacted: Mapping[str, Any] = redactor.value(body)
        return redacted
    # Redact the whole body before cutting it: a cut could split a token.
    text = redactor.text(response.text).strip().replace("\n", " ")[:_MAX_ERROR_BODY]
    return error_envelope(
        f"http_{response.status_code}",
        f"{url} answered HTTP {response.status_code}" + (f": {text}" if text else ""),
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
    return match.group(1) if match else text[:_MAX_ERROR_BODY]
