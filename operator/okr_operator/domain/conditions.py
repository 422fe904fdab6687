"""metav1.Condition bookkeeping: set, get and compare conditions.

Setting Ready also sets or clears Stalled, so no caller can write one without the
other. kstatus (Flux, kpt, cli-utils) reads Ready=False as InProgress, "wait, it may
still work", and only Stalled=True as Failed. Stalled therefore mirrors Ready (same
reason and message) exactly when Ready is False for a terminal reason, one that
only a spec change can fix; for transient reasons (a query that failed, a reference
or data not there yet) it is absent, because the operator retries and may succeed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from okr_operator.domain.model import Condition, ConditionStatus, ConditionType, Reason
from okr_operator.domain.text import printable

# Ready and DataAvailable first, in the order `kubectl describe` readers expect.
_LEADING = (ConditionType.READY, ConditionType.DATA_AVAILABLE)

# Ready=False reasons that re-evaluating the same spec cannot clear. README's
# conditions table lists them; everything else is transient.
TERMINAL_REASONS = frozenset({Reason.INVALID_SPEC, Reason.CYCLE_DETECTED})


def _order(condition: Condition) -> tuple[int, str]:
    position = _LEADING.index(condition.type) if condition.type in _LEADING else len(_LEADING)
    return (position, str(condition.type))


def get_condition(conditions: Sequence[Condition], type: ConditionType) -> Condition | None:  # noqa: A002
    """The condition of that type, or None."""
    return next((condition for condition in conditions if condition.type == type), None)


def set_condition(
    conditions: Sequence[Condition],
    *,
    type: ConditionType,  # noqa: A002  (the metav1.Condition field name)
    status: ConditionStatus,
    reason: str,
    message: str,
    now: datetime,
    generation: int,
) -> tuple[Condition, ...]:
    """Replace the condition of that type; its transition time moves only when the status does.

    The message goes through ``printable``: it may quote an upstream's answer.
    """
    message = printable(message)
    old = get_condition(conditions, type)
    transition = old.last_transition_time if old is not None and old.status == status else now
    new = Condition(
        type=type,
        status=status,
        reason=reason,
        message=message,
        last_transition_time=transition,
        observed_generation=generation,
    )
    others = [condition for condition in conditions if condition.type != type]
    result = tuple(sorted([*others, new], key=_order))
    if type is ConditionType.READY:
        result = _stalled_from_ready(result, new, now=now)
    return result


def _stalled_from_ready(
    conditions: tuple[Condition, ...], ready: Condition, *, now: datetime
) -> tuple[Condition, ...]:
    others = tuple(condition for condition in conditions if condition.type != ConditionType.STALLED)
    if ready.status != ConditionStatus.FALSE or ready.reason not in TERMINAL_REASONS:
        return others
    old = get_condition(conditions, ConditionType.STALLED)
    stalled = Condition(
        type=ConditionType.STALLED,
        status=ConditionStatus.TRUE,
        reason=ready.reason,
        message=ready.message,
        last_transition_time=old.last_transition_time if old is not None else now,
        observed_generation=ready.observed_generation,
    )
    return tuple(sorted([*others, stalled], key=_order))


def significant_change(old: Sequence[Condition], new: Sequence[Condition]) -> bool:
    """True when any condition's (type, status, reason) differs; messages alone do not count."""

    def essence(conditions: Sequence[Condition]) -> dict[ConditionType, tuple[str, str]]:
        return {c.type: (str(c.status), c.reason) for c in conditions}

    return essence(old) != essence(new)


def set_conditions(
    conditions: Sequence[Condition],
    updates: Mapping[ConditionType, tuple[ConditionStatus, str, str]],
    *,
    now: datetime,
    generation: int,
) -> tuple[Condition, ...]:
    """``set_condition`` for each ``type: (status, reason, message)`` of ``updates``."""
    result = tuple(conditions)
    for kind, (status, reason, message) in updates.items():
        result = set_condition(
            result,
            type=kind,
            status=status,
            reason=reason,
            message=message,
            now=now,
            generation=generation,
        )
    return result
