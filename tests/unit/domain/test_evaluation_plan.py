from __future__ import annotations

from datetime import datetime

import pytest

from okr_operator.domain.evaluation import Action, Plan, plan, transition
from okr_operator.domain.model import Direction, Health, KeyResult, KeyResultStatus

from .helpers import Q4, ref, utc

pytestmark = pytest.mark.unit

NOW = utc(2026, 11, 23, 10)
AFTER = utc(2027, 1, 5)
KR = KeyResult(
    ref=ref("lead-time"),
    generation=2,
    objective="ship-faster",
    query="histogram_quantile(0.5, sum by (le) (rate(lead_time_hours_bucket[7d])))",
    target=6.0,
    baseline=96.0,
)
NO_BASELINE = KeyResult(
    ref=ref("incidents"), generation=1, objective="reliable", query="q", target=3.0
)
THRESHOLD = KeyResult(
    ref=ref("cfr"),
    generation=1,
    objective="ship-faster",
    query="q",
    target=0.05,
    direction=Direction.STAY_BELOW,
)
GRADED = KeyResultStatus(
    observed_generation=2, value=12.0, value_time=utc(2026, 12, 31, 23, 59), grade=0.93
)


@pytest.mark.parametrize(
    ("kr", "previous", "now", "expected"),
    [
        pytest.param(
            KR,
            KeyResultStatus(),
            utc(2026, 9, 30),
            Plan(Action.WAIT),
            id="before the period it waits",
        ),
        pytest.param(
            KR,
            KeyResultStatus(),
            NOW,
            Plan(Action.QUERY, at=NOW),
            id="during the period it queries now",
        ),
        pytest.param(
            KR,
            KeyResultStatus(),
            utc(2026, 10, 1),
            Plan(Action.QUERY, at=utc(2026, 10, 1)),
            id="the start is in",
        ),
        pytest.param(
            NO_BASELINE,
            KeyResultStatus(),
            NOW,
            Plan(Action.QUERY, at=NOW, baseline_at=Q4.start),
            id="without a baseline it also captures one at the period start",
        ),
        pytest.param(
            NO_BASELINE,
            KeyResultStatus(baseline=7.0),
            NOW,
            Plan(Action.QUERY, at=NOW),
            id="a captured baseline is kept, not captured again",
        ),
        pytest.param(
            THRESHOLD,
            KeyResultStatus(),
            NOW,
            Plan(Action.QUERY, at=NOW),
            id="thresholds need no baseline",
        ),
        pytest.param(
            KR, GRADED, AFTER, Plan(Action.DONE), id="after the end a graded key result is done"
        ),
        pytest.param(
            KR,
            KeyResultStatus(
                observed_generation=1, value=12.0, value_time=utc(2026, 12, 31), grade=0.93
            ),
            AFTER,
            Plan(Action.FREEZE),
            id="a spec change after the end re-grades the frozen value",
        ),
        pytest.param(
            KR,
            KeyResultStatus(
                observed_generation=2, value=12.0, value_time=utc(2026, 12, 31, 23, 59)
            ),
            utc(2027, 1, 1),
            Plan(Action.FREEZE),
            id="the last in-period value is frozen at the end",
        ),
        pytest.param(
            KR,
            KeyResultStatus(),
            AFTER,
            Plan(Action.QUERY, at=Q4.end),
            id="first seen after the end queries at the end",
        ),
        pytest.param(
            NO_BASELINE,
            KeyResultStatus(),
            AFTER,
            Plan(Action.QUERY, at=Q4.end, baseline_at=Q4.start),
            id="first seen after the end also captures the baseline",
        ),
        pytest.param(
            KR,
            KeyResultStatus(observed_generation=1, value=12.0, value_time=Q4.end, grade=0.93),
            AFTER,
            Plan(Action.QUERY, at=Q4.end),
            id="a value measured at the end is re-measured after a spec change",
        ),
        pytest.param(
            KR,
            KeyResultStatus(observed_generation=2, value=12.0, value_time=utc(2026, 9, 1)),
            AFTER,
            Plan(Action.QUERY, at=Q4.end),
            id="a value from before the period is not frozen",
        ),
        pytest.param(
            KR,
            KeyResultStatus(observed_generation=2, value_time=utc(2026, 12, 1)),
            AFTER,
            Plan(Action.QUERY, at=Q4.end),
            id="no value in the period queries at the end",
        ),
    ],
)
def test_plan(kr: KeyResult, previous: KeyResultStatus, now: datetime, expected: Plan) -> None:
    assert plan(kr, Q4, previous, now=now) == expected


H = Health


@pytest.mark.parametrize(
    ("previous", "new", "expected"),
    [
        pytest.param(H.ON_TRACK, H.AT_RISK, True, id="a change of health"),
        pytest.param(H.ON_TRACK, H.ON_TRACK, False, id="the same health"),
        pytest.param(H.ON_TRACK, H.UNKNOWN, True, id="losing the value is a transition"),
        pytest.param(H.UNKNOWN, H.ON_TRACK, True, id="getting a value is a transition"),
        pytest.param(H.PENDING, H.ON_TRACK, True, id="the period starting is a transition"),
        pytest.param(None, H.ON_TRACK, True, id="the first known health"),
        pytest.param(None, H.UNKNOWN, False, id="a first unknown is not news"),
        pytest.param(None, H.PENDING, False, id="a first pending is not news"),
        pytest.param(H.ON_TRACK, None, False, id="no new health"),
        pytest.param(None, None, False, id="nothing at all"),
    ],
)
def test_transition(previous: Health | None, new: Health | None, expected: bool) -> None:
    assert transition(previous, new) is expected
