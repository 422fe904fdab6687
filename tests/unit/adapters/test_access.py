"""The missing-RBAC record behind /readyz: what it says and when it clears."""

from __future__ import annotations

import asyncio

import pytest

from okr_operator.adapters.access import Permissions, Rule, required_rules

pytestmark = pytest.mark.unit


def test_a_rule_reads_as_verb_resource_group_and_namespace() -> None:
    assert str(Rule("list", "objectives", namespace="team")) == (
        "list objectives.okr.dev in namespace team"
    )
    assert (
        str(Rule("patch", "keyresults", subresource="status")) == "patch keyresults/status.okr.dev"
    )
    assert str(Rule("create", "events", group="", namespace="t")) == "create events in namespace t"


def test_the_rules_cover_every_watched_kind_and_write_in_each_namespace() -> None:
    rules = {str(rule) for rule in required_rules(["a", "b"])}
    for ns in ("a", "b"):
        for plural in ("keyresults", "objectives", "checkins", "prometheussources"):
            assert f"list {plural}.okr.dev in namespace {ns}" in rules
            assert f"watch {plural}.okr.dev in namespace {ns}" in rules
        assert f"patch keyresults/status.okr.dev in namespace {ns}" in rules
        assert f"create events in namespace {ns}" in rules
    assert "watch clusterprometheussources.okr.dev" in rules


async def test_missing_rules_make_a_problem_until_granted() -> None:
    permissions = Permissions()
    assert permissions.problem() is None
    listing = Rule("list", "objectives", namespace="team")
    patch = Rule("patch", "keyresults", subresource="status", namespace="team")
    permissions.reviewed([listing])
    permissions.refused(patch)
    assert permissions.problem() == (
        "forbidden: missing RBAC rules: list objectives.okr.dev in namespace team, "
        "patch keyresults/status.okr.dev in namespace team"
    )
    waiting = asyncio.ensure_future(permissions.wait_watchable())
    await asyncio.sleep(0)
    assert not waiting.done()  # no evaluations without the right to list
    permissions.reviewed([])
    await asyncio.wait_for(waiting, 1)
    assert permissions.problem() == (
        "forbidden: missing RBAC rules: patch keyresults/status.okr.dev in namespace team"
    )
    permissions.allowed(patch)
    assert permissions.problem() is None
