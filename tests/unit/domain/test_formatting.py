from __future__ import annotations

import pytest

from okr_operator.domain.formatting import format_quantity, key_result_display
from okr_operator.domain.model import Display, KeyResult

from .helpers import ref

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        pytest.param(41.846153846153854, "hours", "41.85 hours", id="four significant digits"),
        pytest.param(6.0, "hours", "6 hours", id="a whole number has no decimals"),
        pytest.param(0.6008047665744625, "seconds", "0.6008 seconds", id="below one"),
        pytest.param(99.94020911231101, "%", "99.94%", id="percent sticks to the number"),
        pytest.param(99.9, "%", "99.9%", id="an SLO target stays apart from 99.94"),
        pytest.param(11.012454561706692, "per week", "11.01 per week", id="a unit of words"),
        pytest.param(1234567.8, "requests", "1234568 requests", id="large: whole, no exponent"),
        pytest.param(9999.4, "", "9999", id="just below ten thousand: four digits"),
        pytest.param(0.0000123, "", "1.23e-05", id="tiny values keep an exponent"),
        pytest.param(-0.00001, "", "-1e-05", id="a tiny negative stays negative"),
        pytest.param(-0.0, "alerts", "0 alerts", id="no negative zero"),
        pytest.param(-3.25, "", "-3.25", id="negative"),
        pytest.param(4.0, "", "4", id="no unit"),
    ],
)
def test_format_quantity(value: float, unit: str, expected: str) -> None:
    assert format_quantity(value, unit) == expected


KR = KeyResult(
    ref=ref("lead-time"),
    generation=1,
    objective="ship-faster",
    query="x",
    target=6.0,
    baseline=96.0,
    unit="hours",
)


def test_key_result_display_shows_value_and_target_with_the_unit() -> None:
    assert key_result_display(KR, 41.846153846153854) == Display(
        value="41.85 hours", target="6 hours"
    )


def test_key_result_display_has_no_value_before_a_measurement() -> None:
    assert key_result_display(KR, None) == Display(value=None, target="6 hours")
