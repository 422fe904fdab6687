"""KeyResult and Objective status: domain values to camelCase dictionaries and back.

``*_to_dict`` produces a JSON merge patch body for ``/status``: every known key
is present, with None where the value is unknown, so that the patch deletes
stale fields an earlier evaluation wrote. Lists (history, conditions, children)
are always lists and replace the stored ones whole.

``*_from_dict`` reads what an operator (maybe an older one) wrote. It never
fails: a malformed field reads as its default, a malformed list item is
skipped, because a status must not stop the object from being evaluated.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, TypeVar

from okr_operator.domain.formatting import format_timestamp
from okr_operator.domain.model import (
    Basis,
    CarriedFrom,
    CheckIn,
    ChildRef,
    Commitment,
    Condition,
    ConditionStatus,
    ConditionType,
    Display,
    Forecast,
    Health,
    KeyResultStatus,
    LatestCheckIn,
    ObjectiveStatus,
)

# Ratios are shown to people and dashboards; four decimals (0.01 %) is plenty
# and keeps status diffs quiet.
RATIO_DECIMALS = 4
_T = TypeVar("_T")
_HEALTHS = frozenset(health.value for health in Health)


# --- KeyResult -------------------------------------------------------------


def key_result_status_to_dict(status: KeyResultStatus) -> dict[str, Any]:
    """The ``status`` of a KeyResult, every key present (None where unknown)."""
    return {
        "observedGeneration": status.observed_generation,
        "value": _number(status.value),
        "valueTime": _time(status.value_time),
        "baseline": _number(status.baseline),
        "progress": _ratio(status.progress),
        "expectedProgress": _ratio(status.expected_progress),
        "health": _health(status.health),
        "lastEvaluationTime": _time(status.last_evaluation_time),
        "grade": _ratio(status.grade),
        "history": [_check_in_to_dict(point) for point in status.history],
        "conditions": [_condition_to_dict(condition) for condition in status.conditions],
        "display": _display_to_dict(status.display),
        "forecast": _forecast_to_dict(status.forecast),
        "checkIn": _latest_check_in_to_dict(status.check_in),
        "checkInDue": status.check_in_due,
        "commitment": None if status.commitment is None else status.commitment.value,
        "carriedFrom": _carried_to_dict(status.carried_from),
    }


def _latest_check_in_to_dict(check_in: LatestCheckIn | None) -> dict[str, Any] | None:
    if check_in is None:
        return None
    return {
        "name": check_in.name,
        "time": _time(check_in.time),
        "confidence": _ratio(check_in.confidence),
        "note": check_in.note,
        "author": check_in.author,
        "value": _number(check_in.value),
        "blockers": list(check_in.blockers),
    }


def _read_latest_check_in(raw: object) -> LatestCheckIn | None:
    if not isinstance(raw, Mapping):
        return None
    name, time = raw.get("name"), _read_time(raw.get("time"))
    confidence = _read_number(raw.get("confidence"))
    if not isinstance(name, str) or time is None or confidence is None:
        return None
    note, author, blockers = raw.get("note"), raw.get("author"), raw.get("blockers")
    return LatestCheckIn(
        name=name,
        time=time,
        confidence=confidence,
        note=note if isinstance(note, str) else "",
        author=author if isinstance(author, str) else "",
        value=_read_number(raw.get("value")),
        blockers=(
            tuple(b for b in blockers if isinstance(b, str)) if isinstance(blockers, list) else ()
        ),
    )


def _display_to_dict(display: Display) -> dict[str, Any] | None:
    # None deletes the whole object in a merge patch; an object of nulls would leave {}.
    if display == Display():
        return None
    return {"value": display.value, "target": display.target}


def key_result_status_from_dict(data: Mapping[str, Any] | None) -> KeyResultStatus:
    """What a KeyResult's ``status`` says; anything malformed reads as its default."""
    if not isinstance(data, Mapping):
        return KeyResultStatus()
    return KeyResultStatus(
        observed_generation=_read_int(data.get("observedGeneration")),
        value=_read_number(data.get("value")),
        value_time=_read_time(data.get("valueTime")),
        baseline=_read_number(data.get("baseline")),
        progress=_read_number(data.get("progress")),
        expected_progress=_read_number(data.get("expectedProgress")),
        health=_read_health(data.get("health")),
        last_evaluation_time=_read_time(data.get("lastEvaluationTime")),
        grade=_read_number(data.get("grade")),
        history=_read_items(data.get("history"), _check_in_from_dict),
        conditions=_read_items(data.get("conditions"), _condition_from_dict),
        display=_read_display(data.get("display")),
        forecast=_read_forecast(data.get("forecast")),
        check_in=_read_latest_check_in(data.get("checkIn")),
        check_in_due=(data.get("checkInDue") if isinstance(data.get("checkInDue"), bool) else None),
        commitment=_read_enum(Commitment, data.get("commitment")),
        carried_from=_read_carried(data.get("carriedFrom")),
    )


def _read_display(raw: object) -> Display:
    if not isinstance(raw, Mapping):
        return Display()
    value, target = raw.get("value"), raw.get("target")
    return Display(
        value=value if isinstance(value, str) else None,
        target=target if isinstance(target, str) else None,
    )


# --- Objective -------------------------------------------------------------


def objective_status_to_dict(status: ObjectiveStatus) -> dict[str, Any]:
    """The ``status`` of an Objective, every key present (None where unknown).

    ``keyResults`` carries ``total`` and a count for every health, zeros
    included: a merge patch merges objects, so a count left out would keep its
    stale value.
    """
    counts: dict[str, int] = {"total": int(status.key_results.get("total", 0))}
    counts.update({health.value: int(status.key_results.get(health.value, 0)) for health in Health})
    return {
        "observedGeneration": status.observed_generation,
        "progress": _ratio(status.progress),
        "expectedProgress": _ratio(status.expected_progress),
        "health": _health(status.health),
        "lastEvaluationTime": _time(status.last_evaluation_time),
        "grade": _ratio(status.grade),
        "keyResults": counts,
        "children": [_child_to_dict(child) for child in status.children],
        "history": [_check_in_to_dict(point) for point in status.history],
        "conditions": [_condition_to_dict(condition) for condition in status.conditions],
        "forecast": _forecast_to_dict(status.forecast),
        "carriedFrom": _carried_to_dict(status.carried_from),
    }


def objective_status_from_dict(data: Mapping[str, Any] | None) -> ObjectiveStatus:
    """What an Objective's ``status`` says; anything malformed reads as its default."""
    if not isinstance(data, Mapping):
        return ObjectiveStatus()
    return ObjectiveStatus(
        observed_generation=_read_int(data.get("observedGeneration")),
        progress=_read_number(data.get("progress")),
        expected_progress=_read_number(data.get("expectedProgress")),
        health=_read_health(data.get("health")),
        last_evaluation_time=_read_time(data.get("lastEvaluationTime")),
        grade=_read_number(data.get("grade")),
        key_results=_read_counts(data.get("keyResults")),
        children=_read_items(data.get("children"), _child_from_dict),
        history=_read_items(data.get("history"), _check_in_from_dict),
        conditions=_read_items(data.get("conditions"), _condition_from_dict),
        forecast=_read_forecast(data.get("forecast")),
        carried_from=_read_carried(data.get("carriedFrom")),
    )


# --- carriedFrom ---------------------------------------------------------------


def _carried_to_dict(carried: CarriedFrom | None) -> dict[str, Any] | None:
    if carried is None:
        return None
    return {"namespace": carried.namespace, "name": carried.name, "grade": _ratio(carried.grade)}


def _read_carried(raw: object) -> CarriedFrom | None:
    if not isinstance(raw, Mapping):
        return None
    namespace, name = raw.get("namespace"), raw.get("name")
    if not isinstance(namespace, str) or not isinstance(name, str):
        return None
    return CarriedFrom(namespace, name, _read_number(raw.get("grade")))


# --- forecast ----------------------------------------------------------------


def _forecast_to_dict(forecast: Forecast | None) -> dict[str, Any] | None:
    # None deletes the whole object in a merge patch; keys inside are always
    # present (None deletes one) so a stale value or basis never survives.
    if forecast is None:
        return None
    basis = forecast.basis
    return {
        "value": _number(forecast.value),
        "progress": _ratio(forecast.progress),
        "achieves": forecast.achieves,
        "basis": None if basis is None else {"points": basis.points, "days": _ratio(basis.days)},
    }


def _read_forecast(raw: object) -> Forecast | None:
    if not isinstance(raw, Mapping):
        return None
    progress, achieves = _read_number(raw.get("progress")), raw.get("achieves")
    if progress is None or not isinstance(achieves, bool):
        return None
    basis_raw = raw.get("basis")
    basis = None
    if isinstance(basis_raw, Mapping):
        points, days = _read_int(basis_raw.get("points")), _read_number(basis_raw.get("days"))
        if points is not None and days is not None:
            basis = Basis(points=points, days=days)
    return Forecast(
        progress=progress, achieves=achieves, value=_read_number(raw.get("value")), basis=basis
    )


# --- CheckIn ---------------------------------------------------------------


def check_in_status_to_dict(conditions: tuple[Condition, ...], generation: int) -> dict[str, Any]:
    """The ``status`` of a CheckIn: its Ready condition."""
    return {
        "observedGeneration": generation,
        "conditions": [_condition_to_dict(condition) for condition in conditions],
    }


def check_in_conditions_from_dict(data: Mapping[str, Any] | None) -> tuple[Condition, ...]:
    """The conditions a CheckIn's ``status`` carries (what an operator wrote before)."""
    if not isinstance(data, Mapping):
        return ()
    return _read_items(data.get("conditions"), _condition_from_dict)


# --- list items --------------------------------------------------------------


def _check_in_to_dict(point: CheckIn) -> dict[str, Any]:
    # Inside lists None would be stored as null (a merge patch replaces lists
    # whole), so unknown fields are left out instead.
    item: dict[str, Any] = {"time": _time(point.time)}
    value = _number(point.value)
    if value is not None:
        item["value"] = value
    progress = _ratio(point.progress)
    if progress is not None:
        item["progress"] = progress
    item["health"] = point.health.value
    confidence = _ratio(point.confidence)
    if confidence is not None:
        item["confidence"] = confidence
    return item


def _check_in_from_dict(item: Mapping[str, Any]) -> CheckIn | None:
    time = _read_time(item.get("time"))
    health = _read_health(item.get("health"))
    if time is None or health is None:
        return None
    return CheckIn(
        time=time,
        progress=_read_number(item.get("progress")),
        health=health,
        value=_read_number(item.get("value")),
        confidence=_read_number(item.get("confidence")),
    )


def _condition_to_dict(condition: Condition) -> dict[str, Any]:
    return {
        "type": condition.type.value,
        "status": condition.status.value,
        "reason": condition.reason,
        "message": condition.message,
        "lastTransitionTime": _time(condition.last_transition_time),
        "observedGeneration": condition.observed_generation,
    }


def _condition_from_dict(item: Mapping[str, Any]) -> Condition | None:
    kind = _read_enum(ConditionType, item.get("type"))
    status = _read_enum(ConditionStatus, item.get("status"))
    time = _read_time(item.get("lastTransitionTime"))
    if kind is None or status is None or time is None:
        return None
    reason, message = item.get("reason"), item.get("message")
    return Condition(
        type=kind,
        status=status,
        reason=reason if isinstance(reason, str) else "",
        message=message if isinstance(message, str) else "",
        last_transition_time=time,
        observed_generation=_read_int(item.get("observedGeneration")) or 0,
    )


def _child_to_dict(child: ChildRef) -> dict[str, Any]:
    item: dict[str, Any] = {"namespace": child.namespace, "name": child.name}
    progress = _ratio(child.progress)
    if progress is not None:
        item["progress"] = progress
    item["health"] = child.health.value
    return item


def _child_from_dict(item: Mapping[str, Any]) -> ChildRef | None:
    namespace, name = item.get("namespace"), item.get("name")
    health = _read_health(item.get("health"))
    if not isinstance(namespace, str) or not isinstance(name, str) or health is None:
        return None
    return ChildRef(
        namespace=namespace,
        name=name,
        progress=_read_number(item.get("progress")),
        health=health,
    )


# --- scalars -----------------------------------------------------------------


def _time(moment: datetime | None) -> str | None:
    """RFC 3339 in UTC with whole seconds and ``Z``, as metav1.Time."""
    if moment is None:
        return None
    return format_timestamp(moment)


def _number(number: float | None) -> float | None:
    # JSON has no NaN or infinities; the domain never stores them, but a patch
    # carrying one would be refused whole.
    if number is None or not math.isfinite(number):
        return None
    return float(number)


def _ratio(number: float | None) -> float | None:
    finite = _number(number)
    return None if finite is None else round(finite, RATIO_DECIMALS)


def _health(health: Health | None) -> str | None:
    return None if health is None else health.value


def _read_time(raw: object) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    # A time without an offset can only have been meant as UTC (metav1.Time is UTC).
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _read_number(raw: object) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    return float(raw) if math.isfinite(raw) else None


def _read_int(raw: object) -> int | None:
    if isinstance(raw, bool) or not isinstance(raw, int):
        return None
    return raw


def _read_enum(enum: Callable[[str], _T], raw: object) -> _T | None:
    if not isinstance(raw, str):
        return None
    try:
        return enum(raw)
    except ValueError:
        return None


def _read_health(raw: object) -> Health | None:
    return _read_enum(Health, raw)


def _read_counts(raw: object) -> Mapping[str, int]:
    if not isinstance(raw, Mapping):
        return MappingProxyType({})
    counts: dict[str, int] = {}
    for key, count in raw.items():
        if isinstance(count, bool) or not isinstance(count, int):
            continue
        # to_dict writes zeros for every health (see objective_status_to_dict);
        # the domain lists only the healths that occur.
        if key == "total" or (key in _HEALTHS and count != 0):
            counts[key] = count
    return MappingProxyType(counts)


def _read_items(raw: object, read: Callable[[Mapping[str, Any]], _T | None]) -> tuple[_T, ...]:
    if not isinstance(raw, list):
        return ()
    items: Iterable[_T | None] = (read(item) for item in raw if isinstance(item, Mapping))
    return tuple(item for item in items if item is not None)
