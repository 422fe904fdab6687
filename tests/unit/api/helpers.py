"""Builders of whole objects, as the API server or a YAML file hands them over."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

NS = "team-a"


def utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    """An aware UTC datetime on the hour: ``utc(2026, 10, 1, 12)``."""
    return datetime(year, month, day, hour, tzinfo=UTC)


def body(kind: str, spec: Any, *, name: str = "p95", **metadata: Any) -> dict[str, Any]:
    """A whole object of ``kind`` in NS with ``spec``; metadata keys override."""
    meta: dict[str, Any] = {"name": name, "namespace": NS, "generation": 1}
    meta.update(metadata)
    return {
        "apiVersion": "okr.dev/v1alpha1",
        "kind": kind,
        "metadata": meta,
        "spec": copy.deepcopy(spec),
    }


def merged(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """``base`` with top-level keys replaced; a value of None removes the key."""
    result = copy.deepcopy(base)
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result
