"""The bench's VictoriaMetrics for tests: backfill history through its import API.

VictoriaMetrics takes history with timestamps in the Prometheus text format
(``/api/v1/import/prometheus``, milliseconds), so tests control every sample as
promtool does for Prometheus. The bench's instance is long-lived and shared by
the test runs of one clone: callers put a label of their own (a session id) on
every series and in every query, so runs never see each other's samples.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Iterable
from datetime import datetime
from typing import Any

_TIMEOUT_S = 30.0


def prometheus_text(
    name: str, samples: Iterable[tuple[str, float, datetime]], *, labels: str
) -> str:
    """``name{labels,...} value ms`` lines for ``(series labels, value, time)`` samples."""
    return "".join(
        f"{name}{{{series},{labels}}} {value:g} {int(at.timestamp() * 1000)}\n"
        for series, value, at in samples
    )


def import_history(base_url: str, text: str, probe: str) -> None:
    """POST ``text`` to the import API and wait until the instant query ``probe`` sees it."""
    request = urllib.request.Request(  # noqa: S310 - loopback URL of the bench
        f"{base_url}/api/v1/import/prometheus", data=text.encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response:  # noqa: S310
        if response.status != 204:
            raise RuntimeError(f"VictoriaMetrics import answered {response.status}")
    # Imported rows become searchable after the in-memory buffers are flushed.
    with urllib.request.urlopen(f"{base_url}/internal/force_flush", timeout=_TIMEOUT_S):  # noqa: S310
        pass
    deadline = time.monotonic() + _TIMEOUT_S
    while time.monotonic() < deadline:
        if query(base_url, probe).get("data", {}).get("result"):
            return
        time.sleep(0.3)
    raise RuntimeError(f"VictoriaMetrics does not show the imported history: {probe} is empty")


def query(base_url: str, expr: str) -> dict[str, Any]:
    """The whole ``/api/v1/query`` envelope of an instant query at now."""
    body = urllib.parse.urlencode({"query": expr}).encode()
    request = urllib.request.Request(f"{base_url}/api/v1/query", data=body, method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response:  # noqa: S310
        envelope: dict[str, Any] = json.loads(response.read())
    return envelope
