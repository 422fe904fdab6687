"""Readiness and leadership from kopf's own toggles, and /readyz over HTTP.

The toggles are kopf's real ``aiotoggles`` (what its orchestrator holds); the
attach test fails if a kopf upgrade moves ``spawn_missing_watchers`` or the
ensemble's fields, which ``KopfState`` reads.
"""

from __future__ import annotations

import asyncio
import inspect
import urllib.error
import urllib.request
from collections.abc import Callable

import pytest
from kopf._cogs.aiokits import aiotoggles
from kopf._core.reactor import orchestration

from okr_operator.adapters.metrics import MetricsServer
from okr_operator.handlers.kopf_state import POLL_SECONDS, KopfState, lead

pytestmark = pytest.mark.unit


async def _toggles() -> tuple[aiotoggles.ToggleSet, aiotoggles.Toggle, aiotoggles.ToggleSet]:
    indexed = aiotoggles.ToggleSet(all)
    paused = aiotoggles.ToggleSet(any)
    await paused.make_toggle(False, name="peering CRD is missing")
    return indexed, await indexed.make_toggle(False, name="keyresults"), paused


def test_kopf_should_still_hand_the_ensemble_to_spawn_missing_watchers() -> None:
    parameters = inspect.signature(orchestration.spawn_missing_watchers).parameters
    assert "ensemble" in parameters
    fields = orchestration.Ensemble.__dataclass_fields__
    assert {"operator_indexed", "operator_paused"} <= set(fields)


def test_attach_should_restore_kopf_on_exit() -> None:
    original = orchestration.spawn_missing_watchers
    with KopfState().attach():
        assert orchestration.spawn_missing_watchers is not original
    assert orchestration.spawn_missing_watchers is original


async def test_readiness_should_follow_listing_then_the_engine() -> None:
    state = KopfState()
    assert state.readiness(started=False).reason.startswith("starting")
    indexed, listing, paused = await _toggles()
    state.observe(indexed=indexed, paused=paused)
    assert not state.readiness(started=False).ready
    assert state.readiness(started=False).reason.startswith("listing")
    await listing.turn_to(True)
    assert state.readiness(started=False).reason.startswith("restoring")
    assert state.readiness(started=True).ready


async def test_a_standby_should_be_ready_and_a_missing_peering_crd_not() -> None:
    state = KopfState()
    indexed, _, paused = await _toggles()
    state.observe(indexed=indexed, paused=paused)
    conflict = await paused.make_toggle(True, name="okr-operator@None")
    standby = state.readiness(started=False)
    assert standby.ready
    assert standby.reason == "standby: paused by peering (okr-operator@None)"
    await conflict.turn_to(False)
    for toggle in paused:
        if toggle.name == "peering CRD is missing":
            await toggle.turn_to(True)
    missing = state.readiness(started=False)
    assert not missing.ready
    assert "peering CRD is missing" in missing.reason


async def test_lead_should_start_only_when_active_and_listed_then_step_down_on_pause() -> None:
    state = KopfState()
    indexed, listing, paused = await _toggles()
    conflict = await paused.make_toggle(True, name="okr-operator@None")
    started: list[str] = []
    stepped: list[str] = []

    async def step_down(reason: str) -> None:
        stepped.append(reason)

    task = asyncio.create_task(
        lead(state, start=lambda: started.append("start"), step_down=step_down)
    )
    state.observe(indexed=indexed, paused=paused)
    await listing.turn_to(True)
    await asyncio.sleep(POLL_SECONDS * 3)
    assert started == [], "a standby must not evaluate"
    await conflict.turn_to(False)
    await asyncio.wait_for(_until(lambda: started == ["start"]), timeout=5)
    assert stepped == []
    await conflict.turn_to(True)
    await asyncio.wait_for(task, timeout=5)
    assert stepped == ["okr-operator@None"]


async def _until(condition: Callable[[], bool]) -> None:
    while not condition():  # noqa: ASYNC110 - polling what lead() polls
        await asyncio.sleep(POLL_SECONDS)


async def test_a_kind_without_a_watch_should_keep_it_listing() -> None:
    state = KopfState(plurals=("keyresults", "checkins"))
    indexed, listing, paused = await _toggles()
    await listing.turn_to(True)
    state.observe(indexed=indexed, paused=paused, watching={"keyresults"})
    assert not state.listed
    readiness = state.readiness(started=True)
    assert (readiness.ready, readiness.reason) == (
        False,
        "listing: no watch on checkins (is the CRD installed?)",
    )
    state.observe(indexed=indexed, paused=paused, watching={"keyresults", "checkins"})
    assert state.listed


async def test_lead_should_start_after_the_listing_timeout_when_active() -> None:
    state = KopfState()
    indexed, _, paused = await _toggles()
    state.observe(indexed=indexed, paused=paused)
    started = asyncio.Event()

    async def never(reason: str) -> None:
        raise AssertionError(reason)

    task = asyncio.create_task(
        lead(state, start=started.set, step_down=never, listing_timeout=0.01)
    )
    await asyncio.wait_for(started.wait(), timeout=5)
    assert not state.readiness(started=True).ready, "unready while the listing is unfinished"
    task.cancel()


@pytest.mark.parametrize(("ready", "code"), [(True, 200), (False, 503)])
def test_readyz_should_answer_from_the_check(ready: bool, code: int) -> None:
    server = MetricsServer(
        lambda _names: b"", address="127.0.0.1", port=0, ready=lambda: (ready, "the reason")
    ).start()
    try:
        url = f"http://127.0.0.1:{server.port}/readyz"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as err:
            status, body = err.code, err.read()
        assert (status, body) == (code, b"the reason\n")
    finally:
        server.close()
