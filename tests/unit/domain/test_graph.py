from __future__ import annotations

import pytest

from okr_operator.domain.graph import describe_cycle, find_cycle
from okr_operator.domain.model import Ref

from .helpers import ref

pytestmark = pytest.mark.unit


def parents(edges: dict[str, str]) -> dict[Ref, Ref]:
    return {ref(child): ref(parent) for child, parent in edges.items()}


@pytest.mark.parametrize(
    ("edges", "start", "cycle"),
    [
        pytest.param({}, "team", None, id="no parent is no cycle"),
        pytest.param({"team": "dept", "dept": "company"}, "team", None, id="a chain to the top"),
        pytest.param({"x": "x"}, "x", ("x",), id="its own parent"),
        pytest.param({"x": "y", "y": "x"}, "x", ("x", "y"), id="two objectives"),
        pytest.param(
            {"y": "z", "z": "x", "x": "y"}, "x", ("x", "y", "z"), id="three, from the start"
        ),
        pytest.param(
            {"team": "a", "a": "b", "b": "a"},
            "team",
            ("a", "b"),
            id="a cycle above the start begins where it repeats",
        ),
    ],
)
def test_find_cycle(edges: dict[str, str], start: str, cycle: tuple[str, ...] | None) -> None:
    parent_of = parents(edges).get
    expected = None if cycle is None else tuple(ref(name) for name in cycle)
    assert find_cycle(ref(start), parent_of) == expected


def test_find_cycle_across_namespaces() -> None:
    a, b = Ref("team-a", "x"), Ref("company", "x")
    assert find_cycle(a, {a: b, b: a}.get) == (a, b)


def test_find_cycle_is_bounded_for_an_endless_chain() -> None:
    calls = []

    def endless(node: Ref) -> Ref:
        calls.append(node)
        return ref(f"{node.name}+")

    assert find_cycle(ref("x"), endless) is None
    assert len(calls) == 10_000


@pytest.mark.parametrize(
    ("cycle", "text"),
    [
        pytest.param(
            (Ref("a", "x"), Ref("a", "y")), "a/x → a/y → a/x", id="closed on its first node"
        ),
        pytest.param((Ref("a", "x"),), "a/x → a/x", id="its own parent"),
        pytest.param((), "", id="empty"),
    ],
)
def test_describe_cycle(cycle: tuple[Ref, ...], text: str) -> None:
    assert describe_cycle(cycle) == text
