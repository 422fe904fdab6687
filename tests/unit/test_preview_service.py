"""services.preview without queries: the rollup order and cycles (the e2e test covers the rest)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime

import pytest

from okr_operator.domain.model import Objective, Problem, Reason, Ref, SourceRef
from okr_operator.domain.periods import quarter_period
from okr_operator.services.ports import Querier
from okr_operator.services.preview import preview

pytestmark = pytest.mark.unit

AT = datetime(2026, 11, 15, tzinfo=UTC)
Q4 = quarter_period("2026-Q4", "UTC")


class NoQueries:
    """These objectives have no key results: nothing may be resolved or queried."""

    async def resolve(self, namespace: str, source: SourceRef | None) -> Querier | Problem:
        raise AssertionError("no key result, no query")

    def slot(self, namespace: str, source: SourceRef | None) -> AbstractAsyncContextManager[object]:
        raise AssertionError("no key result, no query")


def objective(name: str, parent: str | None = None) -> Objective:
    return Objective(
        ref=Ref("ns", name),
        generation=1,
        title=name,
        period=Q4,
        parent=Ref("ns", parent) if parent else None,
    )


async def test_a_cycle_is_reported_on_its_members_and_the_others_roll_up() -> None:
    objectives = [
        objective("a", "b"),
        objective("b", "a"),
        objective("top"),
        objective("team", "top"),
    ]
    result = await preview([], objectives, resolver=NoQueries(), at=AT)
    ready = {
        ref.name: next(c for c in status.conditions if c.type == "Ready")
        for ref, status in result.objectives.items()
    }
    assert ready["a"].reason == Reason.CYCLE_DETECTED
    assert ready["a"].message == "spec.parentRef forms a cycle: ns/a → ns/b → ns/a"
    assert ready["b"].message == "spec.parentRef forms a cycle: ns/b → ns/a → ns/b"
    assert ready["top"].reason == Reason.EVALUATED
    # The parent lists its child (the order of the rollup is checked by the e2e test).
    assert ready["top"].message == "rolled up 1 member"
    assert [c.name for c in result.objectives[Ref("ns", "top")].children] == ["team"]
