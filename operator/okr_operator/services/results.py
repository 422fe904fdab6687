"""What one key-result evaluation came to: a closed set, not free strings.

The values are the ``result`` label of ``okr_evaluations_total`` (and the
``reason`` label of ``okr_query_errors_total`` for problems), so they are API.
"""

from __future__ import annotations

from enum import StrEnum

from okr_operator.domain.model import Reason


class Result(StrEnum):
    """The outcome of one key-result evaluation."""

    SUCCESS = "success"
    PENDING = "pending"
    FROZEN = "frozen"
    SKIPPED = "skipped"
    QUERY_FAILED = "query_failed"
    AMBIGUOUS_RESULT = "ambiguous_result"
    NO_DATA = "no_data"
    NOT_A_NUMBER = "not_a_number"
    REFERENCE_NOT_FOUND = "reference_not_found"
    CYCLE_DETECTED = "cycle_detected"
    INVALID_SPEC = "invalid_spec"

    @property
    def is_problem(self) -> bool:
        """True when the evaluation produced no usable number."""
        return self not in _FINE

    @classmethod
    def of(cls, reason: Reason) -> Result:
        """The result of an evaluation that failed for ``reason``."""
        return _BY_REASON.get(reason, cls.QUERY_FAILED)


# SKIPPED (a plan to query that ran no query) is counted with the problems, as before.
_FINE = frozenset({Result.SUCCESS, Result.PENDING, Result.FROZEN})
_BY_REASON = {
    Reason.QUERY_FAILED: Result.QUERY_FAILED,
    Reason.AMBIGUOUS_RESULT: Result.AMBIGUOUS_RESULT,
    Reason.NO_DATA: Result.NO_DATA,
    Reason.NOT_A_NUMBER: Result.NOT_A_NUMBER,
    Reason.REFERENCE_NOT_FOUND: Result.REFERENCE_NOT_FOUND,
    Reason.CYCLE_DETECTED: Result.CYCLE_DETECTED,
    Reason.INVALID_SPEC: Result.INVALID_SPEC,
}
