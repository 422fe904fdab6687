"""Structured logs: one JSON object a line, for kopf's records and ours."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from okr_operator.domain.text import printable

# A log line carries at most this much of any one text field.
_LOG_LIMIT = 2048
# kopf attaches these to its records: a flag, and its whole settings object.
_KOPF_NOISE = {"k8s_skip", "settings"}
# Attributes every LogRecord has; anything else was passed with ``extra=``.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """Render a record as one line of JSON with its ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": printable(record.getMessage(), _LOG_LIMIT),
        }
        for key, value in vars(record).items():
            if key in _STANDARD or key.startswith("_"):
                continue
            if key == "k8s_ref" and isinstance(value, dict):
                # kopf's per-object loggers name the object this way.
                entry["object"] = "{kind} {namespace}/{name}".format_map(
                    {
                        "kind": value.get("kind", ""),
                        "namespace": value.get("namespace", ""),
                        "name": value.get("name", ""),
                    }
                )
            elif key not in _KOPF_NOISE:
                if isinstance(value, int | float | bool):
                    entry[key] = value
                else:
                    # Values may quote an upstream: no control bytes, bounded.
                    entry[key] = printable(str(value), _LOG_LIMIT)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str) -> None:
    """Send every logger's records to stderr as JSON lines."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # urllib3 logs each retry at WARNING with the full URL; we report the
    # outcome ourselves, with credentials redacted.
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    if root.level > logging.DEBUG:
        # kopf says "Handler ... succeeded" for every watch event, our own status
        # writes included; the engine logs what actually changed instead.
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
