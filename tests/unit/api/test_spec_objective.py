"""parse_objective: defaults, the parent reference, and every rule with its complete message."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import pytest

from okr_operator.api.spec import SpecError, parse_objective
from okr_operator.domain.model import Commitment, Objective, Period, Ref, RollupMode

from .helpers import NS, body, merged, utc

pytestmark = pytest.mark.unit

MINIMAL: dict[str, Any] = {"title": "Checkout is fast", "period": {"quarter": "2026-Q4"}}
Q4_UTC = Period(start=utc(2026, 10, 1), end=utc(2027, 1, 1))


def expected(**changes: Any) -> Objective:
    fields: dict[str, Any] = {
        "ref": Ref(NS, "fast-checkout"),
        "generation": 1,
        "title": "Checkout is fast",
        "period": Q4_UTC,
    }
    fields.update(changes)
    return Objective(**fields)


@pytest.mark.parametrize(
    ("spec", "metadata", "result"),
    [
        pytest.param(MINIMAL, {}, expected(), id="a minimal objective gets every default"),
        pytest.param(
            merged(MINIMAL, parentRef={"name": "company"}),
            {},
            expected(parent=Ref(NS, "company")),
            id="parentRef without namespace names an objective in the own namespace",
        ),
        pytest.param(
            merged(
                MINIMAL,
                commitment="Aspirational",
                carriedFrom={"name": "fast-checkout-q3"},
            ),
            {},
            expected(commitment=Commitment.ASPIRATIONAL, carried_from=Ref(NS, "fast-checkout-q3")),
            id="commitment and carriedFrom (namespace defaults to the own)",
        ),
        pytest.param(
            merged(MINIMAL, parentRef={"name": "company", "namespace": "okr-company"}),
            {},
            expected(parent=Ref("okr-company", "company")),
            id="parentRef may name an objective in another namespace",
        ),
        pytest.param(
            merged(MINIMAL, parentRef={"name": "fast-checkout", "namespace": "company"}),
            {},
            expected(parent=Ref("company", "fast-checkout")),
            id="an objective of the same name in another namespace is a valid parent",
        ),
        pytest.param(
            {
                "title": "Checkout is fast",
                "description": "Customers never wait",
                "owner": "payments@example.com",
                "period": {"start": "2026-10-01T00:00:00Z", "end": "2026-12-01T00:00:00Z"},
                "weight": 0,
                "rollup": "Weakest",
            },
            {"generation": 4, "labels": {"okr.dev/tier": "team", "okr.dev/": "x"}},
            expected(
                generation=4,
                period=Period(start=utc(2026, 10, 1), end=utc(2026, 12, 1)),
                weight=0.0,
                rollup=RollupMode.WEAKEST,
                description="Customers never wait",
                owner="payments@example.com",
                labels=MappingProxyType({"tier": "team", "": "x"}),
            ),
            id="every field is parsed and a zero weight is allowed",
        ),
    ],
)
def test_valid_objectives(spec: Any, metadata: dict[str, Any], result: Objective) -> None:
    assert parse_objective(body("Objective", spec, name="fast-checkout", **metadata)) == result


P = "Objective team-a/fast-checkout: "


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param(
            merged(MINIMAL, title=None, period=None),
            P + "spec.title: is required; spec.period: is required",
            id="title and period are required",
        ),
        pytest.param(
            merged(MINIMAL, title=""),
            P + "spec.title: string should have at least 1 character",
            id="an empty title is refused",
        ),
        pytest.param(
            merged(MINIMAL, parentRef={"name": "fast-checkout"}),
            P + "spec.parentRef: must not name the Objective itself",
            id="an objective cannot be its own parent",
        ),
        pytest.param(
            merged(MINIMAL, parentRef={"name": "fast-checkout", "namespace": NS}),
            P + "spec.parentRef: must not name the Objective itself",
            id="an objective cannot be its own parent with its namespace spelled out",
        ),
        pytest.param(
            merged(MINIMAL, parentRef={"namespace": "company"}),
            P + "spec.parentRef.name: is required",
            id="parentRef needs a name",
        ),
        pytest.param(
            merged(MINIMAL, rollup="Minimum"),
            P + "spec.rollup: input should be 'WeightedAverage' or 'Weakest'",
            id="an unknown rollup is refused",
        ),
        pytest.param(
            merged(MINIMAL, weight=-0.5),
            P + "spec.weight: input should be greater than or equal to 0",
            id="a negative weight is refused",
        ),
        pytest.param(
            merged(
                MINIMAL,
                period={"start": "2026-12-01T00:00:00Z", "end": "2026-10-01T00:00:00Z"},
            ),
            P + "spec.period.end: must be after spec.period.start "
            "(2026-10-01T00:00:00+00:00 is not after 2026-12-01T00:00:00+00:00)",
            id="an end before the start is refused",
        ),
        pytest.param(
            merged(MINIMAL, period={"quarter": "2026-Q4", "end": "2027-01-01T00:00:00Z"}),
            P + "spec.period: takes either quarter or start and end, not both",
            id="a quarter with an end is refused",
        ),
        pytest.param(
            merged(MINIMAL, keyResults=["a"]),
            P + "spec.keyResults: unknown field",
            id="an unknown field is refused",
        ),
    ],
)
def test_invalid_objectives(spec: Any, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_objective(body("Objective", spec, name="fast-checkout"))
    assert str(caught.value) == message
