"""When each object runs: stable phases, one heap, bounded concurrency.

Every object runs on its own grid: ``epoch + phase + k * interval``, where the
phase is a fraction of the interval derived from the object's uid. Objects
created together therefore spread evenly over their interval instead of
querying Prometheus in one burst, the grid survives restarts and failovers
(the uid and the interval are all it depends on), and an evaluation that ran
late does not shift the next one: it goes back to its grid slot.

Why not one kopf timer per object: kopf timers have one interval per
decorator (ours is per object), log every tick, and would make N tasks. One
heap-ordered scheduler keeps lateness measurable; the engine bounds how many
runs hold a slot at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import heapq
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from okr_operator.services.ports import Clock

log = logging.getLogger("okr_operator.engine")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_IDLE = 30.0  # seconds the loop sleeps with nothing due (it wakes on any schedule())

T = TypeVar("T", bound=Hashable)


def phase(uid: str, interval: timedelta) -> timedelta:
    """The object's offset into its interval, in ``[0, interval)``, stable for its uid."""
    digest = hashlib.blake2b(uid.encode(), digest_size=8).digest()
    step = max(1, interval // _MICROSECOND)
    return (int.from_bytes(digest, "big") % step) * _MICROSECOND


def next_slot(uid: str, interval: timedelta, after: datetime) -> datetime:
    """The first grid instant of the object strictly after ``after``."""
    step = max(1, interval // _MICROSECOND)
    offset = phase(uid, interval) // _MICROSECOND
    elapsed = (after - EPOCH) // _MICROSECOND
    slots = (elapsed - offset) // step + 1
    return EPOCH + (slots * step + offset) * _MICROSECOND


@dataclass(slots=True)
class _State:
    due: datetime | None = None
    running: bool = False
    rerun: datetime | None = None  # asked for while running: run again at this time


class Scheduler(Generic[T]):
    """Runs ``run_one(key, scheduled)`` for each key at its due time.

    ``run_one`` returns when the key is due next (None: not until scheduled
    again). A key runs at most once at a time; a schedule() while it runs
    makes it run again once it has finished. Nothing runs before ``start()``:
    the engine holds evaluations until the watches have listed every kind.
    """

    def __init__(
        self,
        run_one: Callable[[T, datetime], Awaitable[datetime | None]],
        *,
        clock: Clock,
    ) -> None:
        self._run_one = run_one
        self._clock = clock
        self._states: dict[T, _State] = {}
        self._heap: list[tuple[datetime, int, T]] = []
        self._seq = 0
        self._wake = asyncio.Event()
        self._started = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self.last_loop = time.monotonic()

    def schedule(self, key: T, due: datetime) -> None:
        """Run ``key`` at ``due``, or earlier if it is already due earlier."""
        state = self._states.setdefault(key, _State())
        if state.running:
            state.rerun = due if state.rerun is None else min(state.rerun, due)
            return
        if state.due is not None and state.due <= due:
            return
        state.due = due
        self._seq += 1
        heapq.heappush(self._heap, (due, self._seq, key))
        self._wake.set()

    def due(self, key: T) -> datetime | None:
        """When ``key`` runs next, if scheduled."""
        state = self._states.get(key)
        return state.due if state is not None else None

    def forget(self, key: T) -> None:
        """Never run ``key`` again (a run in progress finishes)."""
        self._states.pop(key, None)

    def start(self) -> None:
        """Let due keys run."""
        self._started.set()

    @property
    def started(self) -> bool:
        """Whether start() was called."""
        return self._started.is_set()

    def running(self) -> int:
        """How many runs are in progress."""
        return sum(1 for task in self._tasks if not task.done())

    async def run(self, *, start_after: float | None = None) -> None:
        """Run until cancelled; start by itself after ``start_after`` seconds if not started."""
        try:
            if start_after is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._started.wait(), timeout=start_after)
                if not self._started.is_set():
                    log.warning("Starting evaluations before every kind was listed")
                    self._started.set()
            await self._started.wait()
            while True:
                self.last_loop = time.monotonic()
                now = self._clock.now()
                while self._heap and self._heap[0][0] <= now:
                    due, _, key = heapq.heappop(self._heap)
                    state = self._states.get(key)
                    if state is None or state.due != due:
                        continue  # forgotten or rescheduled since
                    state.due = None
                    state.running = True
                    task = asyncio.create_task(self._run(key, state, due))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                delay = _IDLE
                if self._heap:
                    delay = min(delay, max(0.0, (self._heap[0][0] - now).total_seconds()))
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=delay)
        finally:
            for task in self._tasks:
                task.cancel()

    async def _run(self, key: T, state: _State, scheduled: datetime) -> None:
        next_due: datetime | None = None
        try:
            next_due = await self._run_one(key, scheduled)
        except asyncio.CancelledError:
            raise
        except Exception:
            # One object's failure must not stop the engine or its neighbours;
            # it is tried again a minute later.
            log.exception("Evaluation failed", extra={"object": str(key)})
            next_due = self._clock.now() + timedelta(minutes=1)
        finally:
            state.running = False
        # Only here, with running cleared: scheduling from inside the run would
        # read as "changed meanwhile, run again" and never rest.
        if self._states.get(key) is not state:
            return
        rerun, state.rerun = state.rerun, None
        for due in (rerun, next_due):
            if due is not None:
                self.schedule(key, due)
