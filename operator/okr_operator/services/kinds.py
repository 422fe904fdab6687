"""The two kinds the engine evaluates."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    """KeyResult, Objective or CheckIn: the kind of Events and of ``okr_status_writes_total``."""

    KEY_RESULT = "KeyResult"
    OBJECTIVE = "Objective"
    CHECK_IN = "CheckIn"
