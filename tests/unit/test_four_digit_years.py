"""Every time the operator writes or prints has a four-digit year (issue 8).

glibc's ``strftime("%Y")`` prints year 1 as ``1``: a year-1 period end read
``1-04-01T00:00:00Z``, which is not RFC 3339 and which the API server refuses
as a metav1.Time.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from okr_operator.api.status import key_result_status_to_dict
from okr_operator.domain.formatting import format_timestamp
from okr_operator.domain.model import CheckIn, Health, KeyResultStatus
from okr_operator.domain.periods import quarter_period
from okr_operator.reporting import formats
from okr_operator.reporting.view import _json, quarter_of

pytestmark = pytest.mark.unit

YEAR_ONE_END = quarter_period("0001-Q1").end


def test_a_year_one_period_end_is_rfc3339() -> None:
    assert format_timestamp(YEAR_ONE_END) == "0001-04-01T00:00:00Z"


def test_status_times_have_four_digit_years() -> None:
    status = KeyResultStatus(
        value=1.0,
        value_time=YEAR_ONE_END,
        last_evaluation_time=datetime(12, 3, 4, 5, 6, 7, tzinfo=UTC),
        history=(
            CheckIn(time=datetime(999, 1, 1, tzinfo=UTC), progress=0.5, health=Health.AT_RISK),
        ),
    )
    written = key_result_status_to_dict(status)
    assert written["valueTime"] == "0001-04-01T00:00:00Z"
    assert written["lastEvaluationTime"] == "0012-03-04T05:06:07Z"
    assert written["history"][0]["time"] == "0999-01-01T00:00:00Z"


def test_reports_and_cli_times_have_four_digit_years() -> None:
    assert formats.timestamp(YEAR_ONE_END) == "0001-04-01 00:00 UTC"
    assert _json(YEAR_ONE_END) == "0001-04-01T00:00:00Z"
    assert formats.day(YEAR_ONE_END).endswith("Apr 0001")


def test_a_year_one_quarter_label_reads_back_as_a_quarter() -> None:
    assert quarter_of(quarter_period("0001-Q1")) == "0001-Q1"
    assert quarter_period(quarter_of(quarter_period("0999-Q4"))) == quarter_period("0999-Q4")
