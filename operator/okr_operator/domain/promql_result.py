"""Interpreting the JSON body of Prometheus ``/api/v1/query`` as one number or a problem."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from okr_operator.domain.model import Observation, OnEmpty, Problem, Reason, Sample
from okr_operator.domain.text import printable

_SHOWN_SERIES = 3
_SHOWN_WARNINGS = 3
_MAX_WARNING = 300
# Prometheus's own error text: what a condition message shows of it.
_MAX_ERROR = 600
_ONE_NUMBER = "a query must yield a scalar or an instant vector with exactly one series"


def format_labels(labels: Mapping[str, str]) -> str:
    """A label set as Prometheus prints it: ``{__name__="up", job="api"}``, sorted by name."""
    pairs = ", ".join(f'{name}="{_escape(labels[name])}"' for name in sorted(labels))
    return "{" + pairs + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class _MalformedError(Exception):
    """The body is not a Prometheus API response we understand."""


def interpret(envelope: Mapping[str, Any], *, on_empty: OnEmpty) -> Observation:
    """One usable number (Sample) or why there is none (Problem).

    The server's ``warnings`` ride along: on the Sample, or at the end of the
    Problem's message (an empty Thanos partial response is NoData *because of*
    the store that did not answer, so the warning belongs with it).
    """
    try:
        observation = _interpret(envelope, on_empty)
    except _MalformedError as error:
        return Problem(Reason.QUERY_FAILED, f"malformed response from Prometheus: {error}")
    warnings = server_warnings(envelope)
    if not warnings:
        return observation
    if isinstance(observation, Sample):
        return replace(observation, warnings=warnings)
    return replace(observation, message=f"{observation.message}; {describe_warnings(warnings)}")


def server_warnings(envelope: Mapping[str, Any]) -> tuple[str, ...]:
    """The response's ``warnings`` (Thanos partial responses, VictoriaMetrics notes).

    In the server's order, duplicates dropped, each cut to a length a condition
    message can carry.
    """
    raw = envelope.get("warnings")
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        return ()
    shortened = (printable(str(item), _MAX_WARNING) for item in raw)
    return tuple(dict.fromkeys(t for t in shortened if t))


def describe_warnings(warnings: Sequence[str]) -> str:
    """``the server warned: a; b and 2 more`` for a condition message."""
    shown = "; ".join(warnings[:_SHOWN_WARNINGS])
    hidden = len(warnings) - _SHOWN_WARNINGS
    return f"the server warned: {shown}" + (f" and {hidden} more" if hidden > 0 else "")


def _interpret(envelope: Mapping[str, Any], on_empty: OnEmpty) -> Observation:
    if not isinstance(envelope, Mapping):
        raise _MalformedError(f"expected a JSON object, got {type(envelope).__name__}")
    status = envelope.get("status")
    if status == "error":
        # Prometheus's own words are the most useful message a user can get.
        error_type, error = envelope.get("errorType"), envelope.get("error")
        text = printable(str(error), _MAX_ERROR) if error else "no error message"
        return Problem(Reason.QUERY_FAILED, f"{error_type}: {text}" if error_type else text)
    if status != "success":
        raise _MalformedError(f"status {status!r} is neither 'success' nor 'error'")
    data = envelope.get("data")
    if not isinstance(data, Mapping):
        raise _MalformedError("'data' is missing or not an object")
    result_type, result = data.get("resultType"), data.get("result")
    if result_type == "scalar":
        return _sample(result)
    if result_type == "vector":
        return _vector(result, on_empty)
    if result_type == "matrix":
        return Problem(Reason.QUERY_FAILED, f"query returned a range vector; {_ONE_NUMBER}")
    if result_type == "string":
        return Problem(Reason.QUERY_FAILED, f"query returned a string; {_ONE_NUMBER}")
    raise _MalformedError(f"unknown resultType {result_type!r}")


def _vector(result: object, on_empty: OnEmpty) -> Observation:
    if not isinstance(result, Sequence) or isinstance(result, str):
        raise _MalformedError("vector 'result' is not a list")
    if not result:
        if on_empty is OnEmpty.ZERO:
            return Sample(0.0)
        return Problem(Reason.NO_DATA, "query returned no series")
    if len(result) > 1:
        return Problem(Reason.AMBIGUOUS_RESULT, _ambiguous(result))
    series = result[0]
    if not isinstance(series, Mapping):
        raise _MalformedError("vector series is not an object")
    if "value" not in series and "histogram" in series:
        return Problem(Reason.QUERY_FAILED, f"query returned a native histogram; {_ONE_NUMBER}")
    return _sample(series.get("value"))


def _ambiguous(result: Sequence[object]) -> str:
    # Sorted so the message, and the condition built from it, is stable across
    # evaluations whatever order Prometheus returns.
    label_sets = sorted(format_labels(_metric(series)) for series in result)
    shown = ", ".join(label_sets[:_SHOWN_SERIES])
    hidden = len(label_sets) - _SHOWN_SERIES
    more = f" and {hidden} more" if hidden > 0 else ""
    return f"query returned {len(label_sets)} series, expected one: {shown}{more}"


def _metric(series: object) -> Mapping[str, str]:
    if not isinstance(series, Mapping):
        raise _MalformedError("vector series is not an object")
    metric = series.get("metric", {})
    if not isinstance(metric, Mapping):
        raise _MalformedError("series 'metric' is not an object")
    return {str(name): str(value) for name, value in metric.items()}


def _sample(pair: object) -> Observation:
    # Prometheus encodes a sample as [<unix time>, "<value>"], the value a string
    # so that NaN and ±Inf survive JSON.
    if not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2:
        raise _MalformedError(f"sample {pair!r} is not a [time, value] pair")
    raw = pair[1]
    if not isinstance(raw, str):
        raise _MalformedError(f"sample value {raw!r} is not a string")
    try:
        value = float(raw)
    except ValueError:
        raise _MalformedError(f"sample value {raw!r} is not a number") from None
    if math.isnan(value):
        return Problem(Reason.NOT_A_NUMBER, "query returned NaN")
    if math.isinf(value):
        return Problem(Reason.NOT_A_NUMBER, f"query returned {'+Inf' if value > 0 else '-Inf'}")
    return Sample(value)


def interpret_range(envelope: Mapping[str, Any]) -> list[tuple[datetime, float]] | Problem:
    """The (time, value) points of a range query's one series, finite values only.

    No series is an empty list (nothing retained); more than one is a Problem:
    a history needs one number per step.
    """
    if envelope.get("status") != "success":
        error = printable(str(envelope.get("error", "no error text")), _MAX_ERROR)
        return Problem(Reason.QUERY_FAILED, f"range query failed: {error}")
    try:
        result = _matrix(envelope)
        if len(result) > 1:
            return Problem(Reason.AMBIGUOUS_RESULT, f"range query returned {len(result)} series")
        return _points(result[0]) if result else []
    except _MalformedError as error:
        return Problem(Reason.QUERY_FAILED, f"malformed range response: {error}")


def _matrix(envelope: Mapping[str, Any]) -> Sequence[Any]:
    data = envelope.get("data")
    if not isinstance(data, Mapping) or data.get("resultType") != "matrix":
        raise _MalformedError("no matrix")
    result = data.get("result")
    if not isinstance(result, Sequence) or isinstance(result, str):
        raise _MalformedError("no result list")
    return result


def _points(series: object) -> list[tuple[datetime, float]]:
    values = series.get("values") if isinstance(series, Mapping) else None
    if not isinstance(values, Sequence):
        raise _MalformedError("no values")
    points: list[tuple[datetime, float]] = []
    for item in values:
        try:
            stamp, raw = item
            number = float(raw)
            moment = datetime.fromtimestamp(float(stamp), tz=UTC)
        except (TypeError, ValueError, OverflowError) as error:
            raise _MalformedError(f"point {item!r}") from error
        if math.isfinite(number):
            points.append((moment, number))
    return points
