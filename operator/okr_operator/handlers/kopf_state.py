"""What kopf knows and does not publish: listed, paused, and so ready.

kopf keeps two toggle sets inside its orchestrator: ``operator_indexed`` (on
once kopf has spawned its watchers and listed what index handlers need; the
operator has none, see ``watches``, so here it says kopf watches the kinds it
found, and ``Watches.restore`` gives the engine every object) and
``operator_paused`` (on while peering has paused this operator in favour of a
live peer of higher priority, or while the peering object is missing). kopf
1.45 has no public accessor for either, so ``KopfState.attach()`` wraps its
``orchestration.spawn_missing_watchers``, which receives the ensemble that
holds both, and keeps a reference to it. ``tests/unit/test_kopf_state.py``
fails if a kopf upgrade moves them.

Readiness (``/readyz``) is read from here, and so is leadership: only a
replica that is not paused evaluates and writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from kopf._core.reactor import orchestration

log = logging.getLogger("okr_operator.handlers")

POLL_SECONDS = 0.1
# kopf's name of the pause toggle it turns on when the peering CRD is absent.
_PEERING_MISSING = "peering CRD is missing"


class _Toggle(Protocol):
    @property
    def name(self) -> str | None: ...

    def is_on(self) -> bool: ...


class _ToggleSet(Protocol):
    def is_on(self) -> bool: ...

    def __iter__(self) -> Iterator[_Toggle]: ...

    async def wait_for(self, value: bool) -> None: ...


@dataclass(frozen=True, slots=True)
class Readiness:
    """The answer of /readyz: ready or not, and why, in one line."""

    ready: bool
    reason: str


class KopfState:
    """kopf's listing and pause state of the one operator in this process."""

    def __init__(self, plurals: Collection[str] = ()) -> None:
        self._plurals = frozenset(plurals)
        self._indexed: _ToggleSet | None = None
        self._paused: _ToggleSet | None = None
        self._watching: frozenset[str] = frozenset()

    @contextlib.contextmanager
    def attach(self) -> Iterator[KopfState]:
        """Capture the toggles while the block runs ``kopf.operator``."""
        original = orchestration.spawn_missing_watchers

        @functools.wraps(original)
        async def spawn(
            *,
            ensemble: orchestration.Ensemble,
            watched_resources: Iterable[Any],
            watched_namespaces: Iterable[Any],
            **kwargs: Any,
        ) -> None:
            resources, namespaces = list(watched_resources), list(watched_namespaces)
            await original(
                ensemble=ensemble,
                watched_resources=resources,
                watched_namespaces=namespaces,
                **kwargs,
            )
            # Only once kopf watches in some namespace: its first rounds run before it
            # has discovered the namespaces, with no watcher and no peering yet, and
            # all() of no toggle is True. After the call, not before: it makes a toggle
            # for each watcher first. Which kinds it watches is kept: a CRD that is not
            # installed has no watcher, so "indexed" alone would not say it is listed.
            if namespaces:
                watching = {str(getattr(resource, "plural", "")) for resource in resources}
                self.observe(
                    indexed=ensemble.operator_indexed,
                    paused=ensemble.operator_paused,
                    watching=watching,
                )

        orchestration.spawn_missing_watchers = spawn
        try:
            yield self
        finally:
            orchestration.spawn_missing_watchers = original

    def observe(
        self, *, indexed: _ToggleSet, paused: _ToggleSet, watching: Collection[str] | None = None
    ) -> None:
        """Use these toggle sets (``attach`` calls this; tests pass kopf's own).

        ``watching``: the plurals kopf runs watchers for (None: all it needs).
        """
        self._indexed, self._paused = indexed, paused
        self._watching = frozenset(self._plurals if watching is None else watching)

    @property
    def unwatched(self) -> list[str]:
        """Kinds the operator needs that kopf does not watch (their CRD is missing)."""
        return sorted(self._plurals - self._watching)

    @property
    def listed(self) -> bool:
        """Every kind is watched, has been listed and its objects indexed."""
        return self._indexed is not None and not self.unwatched and self._indexed.is_on()

    @property
    def paused(self) -> bool:
        """Peering has paused this operator (or kopf has not started yet)."""
        return self._paused is None or self._paused.is_on()

    def pause_reasons(self) -> list[str]:
        """kopf's names of the toggles that hold the pause, e.g. ``okr-operator@None``."""
        if self._paused is None:
            return ["kopf has not started its watches"]
        return [str(toggle.name) for toggle in self._paused if toggle.is_on()]

    def readiness(self, *, started: bool) -> Readiness:  # noqa: PLR0911 - one return a state
        """Ready: listed every kind and restored state (``started``), or a healthy standby.

        A standby (paused in favour of a live peer) is ready: it serves the
        webhook, and a rolling update must be able to count it. A replica paused
        because the peering object or CRD is missing is not.
        """
        if self._paused is None or self._indexed is None:
            return Readiness(False, "starting: kopf has not started its watches")
        if self._paused.is_on():
            reasons = self.pause_reasons()
            if _PEERING_MISSING in reasons:
                return Readiness(
                    False, "paused: the kopf peering CRD is missing (see docs/install.md)"
                )
            return Readiness(True, f"standby: paused by peering ({', '.join(reasons)})")
        if self.unwatched:
            missing = ", ".join(self.unwatched)
            return Readiness(False, f"listing: no watch on {missing} (is the CRD installed?)")
        if not self._indexed.is_on():
            return Readiness(False, "listing: the watches have not listed every kind yet")
        if not started:
            return Readiness(False, "restoring: the engine has not taken the listed state yet")
        return Readiness(True, "active: every kind listed, state restored")

    async def _until(self, condition: Callable[[], bool]) -> None:
        # kopf's toggles can be awaited, but the set of them is replaced as kinds and
        # namespaces come and go; a short poll follows all of it with no bookkeeping.
        while not condition():  # noqa: ASYNC110 - see above
            await asyncio.sleep(POLL_SECONDS)

    async def wait_active(self) -> None:
        """Return once kopf runs its watches and peering has not paused it."""
        await self._until(lambda: self._paused is not None and not self._paused.is_on())

    async def wait_listed(self) -> None:
        """Return once kopf runs its watches, is not paused and has listed every kind."""
        await self._until(lambda: self.listed and not self.paused)

    async def wait_paused(self) -> None:
        """Return once peering pauses this (until then active) operator."""
        await self._until(lambda: self._paused is not None and self._paused.is_on())


async def lead(
    state: KopfState,
    *,
    start: Callable[[], None],
    step_down: Callable[[str], Awaitable[None]],
    listing_timeout: float | None = None,
) -> None:
    """Start the engine once active and listed; hand over when paused after that.

    ``start`` is the engine's ``listed()``; ``step_down`` is called when peering
    pauses this operator after it has evaluated: it stops the process, which
    the Deployment restarts as a standby with a fresh, listed state. A listing
    that has not finished ``listing_timeout`` seconds after this replica became
    active does not stop evaluations for good (it stays unready meanwhile).
    """
    await state.wait_active()
    try:
        await asyncio.wait_for(state.wait_listed(), listing_timeout)
        log.info("kopf watches every kind: evaluating once permitted and restored")
    except TimeoutError:
        log.warning(
            "the watches have not listed every kind: evaluating what is known",
            extra={"waited_seconds": listing_timeout},
        )
    start()
    await state.wait_paused()
    reasons = ", ".join(state.pause_reasons())
    log.warning("paused by peering after evaluating: stepping down", extra={"reason": reasons})
    await step_down(reasons)
