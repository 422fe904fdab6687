"""The local PromQL parser advises; the source's server decides.

``okr_operator.api.spec`` checks every query with the local parser
(promql-parser, which follows Prometheus 3.x) into ``KeyResult.query_error``,
but the operator never refuses to send a query on that alone: servers run
older or newer PromQL than the parser knows (Prometheus 2.42 evaluates
``holt_winters``, which the parser rejects), and MetricsQL is a language of its
own. Once the server has answered:

- MetricsQL source: the server's answer stands; the local verdict is unused.
- PromQL source, the parser accepts the query: the server's answer stands.
- PromQL source, the parser rejects it and so does the server: InvalidSpec
  with both messages, as before the server was asked (only a spec change helps).
- PromQL source, the parser rejects it and the server evaluates it: the
  result stands and ``QueryChecked=False``, reason ``LocalParserDisagrees``,
  says so.
- No answer (unreachable, timeout, TLS): QueryFailed as for any query, and
  ``QueryChecked`` keeps what the last answer said.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from okr_operator.domain.conditions import set_condition
from okr_operator.domain.model import (
    Condition,
    ConditionStatus,
    ConditionType,
    KeyResult,
    Observation,
    Problem,
    QueryLanguage,
    Reason,
)

# errorType values with which a server refuses the query itself: Prometheus
# (and Thanos, Mimir, Cortex, which share its API code) answer bad_data for a
# query that does not parse; VictoriaMetrics answers "422" to any query it
# cannot execute. Transport failures have types of our own (unreachable, ...).
_REJECTIONS = ("bad_data", "422")


class Verdict(StrEnum):
    """What the server made of a query."""

    EVALUATED = "Evaluated"
    REJECTED = "Rejected"
    NO_ANSWER = "NoAnswer"


def verdict(envelope: Mapping[str, Any]) -> Verdict:
    """Whether the server evaluated the query, refused it, or never really answered."""
    status = envelope.get("status")
    if status == "success":
        return Verdict.EVALUATED
    if status == "error" and str(envelope.get("errorType")) in _REJECTIONS:
        return Verdict.REJECTED
    return Verdict.NO_ANSWER


@dataclass(frozen=True, slots=True)
class QueryCheck:
    """What ``QueryChecked`` says after an evaluation: a disagreement, or nothing (removed)."""

    disagreement: str | None


def reconcile(
    observation: Observation, heard: Verdict, *, kr: KeyResult, language: QueryLanguage
) -> Observation:
    """The observation, or InvalidSpec when the server confirms the local parser's error."""
    if (
        language is QueryLanguage.PROMQL
        and kr.query_error is not None
        and heard is Verdict.REJECTED
        and isinstance(observation, Problem)
    ):
        return Problem(
            Reason.INVALID_SPEC,
            f"KeyResult {kr.ref}: spec.query: {kr.query_error}; "
            f"the server rejects it too: {observation.message}",
        )
    return observation


def check(kr: KeyResult, language: QueryLanguage, heard: Verdict) -> QueryCheck | None:
    """The QueryChecked update after the server's ``heard`` answer; None: leave it as it is."""
    if language is QueryLanguage.METRICSQL or kr.query_error is None:
        return QueryCheck(None)
    if heard is Verdict.EVALUATED:
        return QueryCheck(
            f"the local PromQL parser rejects spec.query ({kr.query_error}) but the "
            "server evaluated it; the server decides (the local parser follows "
            "Prometheus 3.x and may not know this server's functions)"
        )
    if heard is Verdict.REJECTED:
        return QueryCheck(None)  # both agree it is wrong: Ready says InvalidSpec
    return None


def apply_check(
    conditions: Sequence[Condition], update: QueryCheck | None, *, now: datetime, generation: int
) -> tuple[Condition, ...]:
    """``conditions`` with QueryChecked set, removed, or (None) untouched."""
    if update is None:
        return tuple(conditions)
    if update.disagreement is None:
        return tuple(c for c in conditions if c.type != ConditionType.QUERY_CHECKED)
    return set_condition(
        conditions,
        type=ConditionType.QUERY_CHECKED,
        status=ConditionStatus.FALSE,
        reason=str(Reason.LOCAL_PARSER_DISAGREES),
        message=update.disagreement,
        now=now,
        generation=generation,
    )
