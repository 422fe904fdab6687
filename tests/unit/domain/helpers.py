"""Shared builders for the domain's unit tests."""

from __future__ import annotations

from datetime import UTC, datetime

from okr_operator.domain.model import Period, Ref


def utc(  # noqa: PLR0917  (mirrors datetime)
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    """An aware UTC datetime: ``utc(2026, 10, 1, 12)``."""
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


Q4 = Period(start=utc(2026, 10, 1), end=utc(2027, 1, 1))
NS = "team-a"


def ref(name: str, namespace: str = NS) -> Ref:
    return Ref(namespace=namespace, name=name)
