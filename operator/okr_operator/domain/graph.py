"""The alignment map: finding cycles of parentRefs without following them forever."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from okr_operator.domain.model import Ref

# Far more levels than any organisation has; only a broken parent_of gets here.
_MAX_STEPS = 10_000


def find_cycle(start: Ref, parent_of: Callable[[Ref], Ref | None]) -> tuple[Ref, ...] | None:
    """The cycle reached by following parents from ``start``, or None.

    The cycle starts at the first node seen twice and lists each node once;
    ``start`` itself need not be on it (its ancestors may loop above it).
    """
    position: dict[Ref, int] = {}
    path: list[Ref] = []
    node: Ref | None = start
    while node is not None and len(path) < _MAX_STEPS:
        if node in position:
            return tuple(path[position[node] :])
        position[node] = len(path)
        path.append(node)
        node = parent_of(node)
    return None


def describe_cycle(cycle: Sequence[Ref]) -> str:
    """``a/x → a/y → a/x``: the cycle closed back on its first node."""
    if not cycle:
        return ""
    return " → ".join(str(ref) for ref in [*cycle, cycle[0]])
