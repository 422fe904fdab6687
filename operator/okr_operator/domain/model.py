"""The OKR domain's value types.

Frozen dataclasses and string enums only: no I/O, no framework. The enum values
are the strings users see in YAML and in ``status``, so they are the contract.
Times are always timezone-aware ``datetime`` values; the domain never reads the
clock, callers pass ``now``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

GROUP = "okr.dev"
VERSION = "v1alpha1"
LABEL_PREFIX = "okr.dev/"


class Direction(StrEnum):
    """Which way a key result's value has to move."""

    INCREASE = "Increase"
    DECREASE = "Decrease"
    STAY_ABOVE = "StayAbove"
    STAY_BELOW = "StayBelow"


class Health(StrEnum):
    """Where a key result or objective stands against the clock."""

    PENDING = "Pending"
    ON_TRACK = "OnTrack"
    AT_RISK = "AtRisk"
    OFF_TRACK = "OffTrack"
    ACHIEVED = "Achieved"
    MISSED = "Missed"
    UNKNOWN = "Unknown"


class Commitment(StrEnum):
    """Google's two kinds of OKR: committed ones must reach 1.0, aspirational ones 0.7."""

    COMMITTED = "Committed"
    ASPIRATIONAL = "Aspirational"


# The progress that counts as success: what "achieved" means for each commitment.
SUCCESS = MappingProxyType({Commitment.COMMITTED: 1.0, Commitment.ASPIRATIONAL: 0.7})


class OnEmpty(StrEnum):
    """What an empty query result means."""

    NO_DATA = "NoData"
    ZERO = "Zero"


class RollupMode(StrEnum):
    """How an objective combines its members."""

    WEIGHTED_AVERAGE = "WeightedAverage"
    WEAKEST = "Weakest"


class SourceKind(StrEnum):
    """The kinds a ``spec.sourceRef`` may name."""

    PROMETHEUS_SOURCE = "PrometheusSource"
    CLUSTER_PROMETHEUS_SOURCE = "ClusterPrometheusSource"


class QueryLanguage(StrEnum):
    """The language a source's server speaks: it, not our local parser, decides."""

    PROMQL = "PromQL"
    METRICSQL = "MetricsQL"


class Reason(StrEnum):
    """Condition reasons. They are API: alerts and dashboards match on them."""

    EVALUATED = "Evaluated"
    DATA_RECEIVED = "DataReceived"
    QUERY_FAILED = "QueryFailed"
    AMBIGUOUS_RESULT = "AmbiguousResult"
    NO_DATA = "NoData"
    NOT_A_NUMBER = "NotANumber"
    REFERENCE_NOT_FOUND = "ReferenceNotFound"
    CYCLE_DETECTED = "CycleDetected"
    INVALID_SPEC = "InvalidSpec"
    PERIOD_NOT_STARTED = "PeriodNotStarted"
    PERIOD_ENDED = "PeriodEnded"
    NO_MEMBERS = "NoMembers"
    LOCAL_PARSER_DISAGREES = "LocalParserDisagrees"
    # A CheckIn's own Ready condition.
    RECORDED = "Recorded"
    VALUE_IGNORED = "ValueIgnored"


class ConditionType(StrEnum):
    """Condition types written on every object."""

    READY = "Ready"
    DATA_AVAILABLE = "DataAvailable"
    QUERY_CHECKED = "QueryChecked"
    # kstatus's abnormal-true condition: present (True) only while Ready is False for a
    # reason that only a spec change can fix, so Flux, kpt and `kstatus` report Failed.
    STALLED = "Stalled"


class ConditionStatus(StrEnum):
    """metav1.ConditionStatus."""

    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


def _frozen(mapping: Mapping[str, str] | None = None) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, slots=True, order=True)
class Ref:
    """A namespaced object name."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open time range ``[start, end)`` with aware datetimes."""

    start: datetime
    end: datetime

    @property
    def duration(self) -> timedelta:
        # In UTC: subtracting two times of one zone is wall-clock arithmetic,
        # which loses the hour a daylight-saving change adds to a quarter.
        return self.end.astimezone(UTC) - self.start.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Lags:
    """Progress points behind expected at which health degrades."""

    at_risk: float = 0.10
    off_track: float = 0.25


@dataclass(frozen=True, slots=True)
class SourceRef:
    """``spec.sourceRef`` of a key result."""

    kind: SourceKind
    name: str


@dataclass(frozen=True, slots=True)
class KeyResult:
    """A key result as the operator understands it (parsed and defaulted spec).

    ``direction`` is None only when the user left both it and ``baseline`` out:
    it is then inferred once the baseline has been captured. ``period`` is None
    when the key result inherits its objective's period. ``query_error`` is
    what the local PromQL parser finds wrong with ``query`` (None: it parses);
    it is advice only, the source's server decides (``domain.query_check``).
    """

    ref: Ref
    generation: int
    objective: str
    query: str
    target: float
    direction: Direction | None = None
    baseline: float | None = None
    weight: float = 1.0
    interval: timedelta = timedelta(minutes=1)
    period: Period | None = None
    source: SourceRef | None = None
    on_empty: OnEmpty = OnEmpty.NO_DATA
    lags: Lags = field(default_factory=Lags)
    description: str = ""
    owner: str = ""
    unit: str = ""
    labels: Mapping[str, str] = field(default_factory=_frozen)
    query_error: str | None = None
    manual: bool = False
    check_in_every: timedelta | None = None
    commitment: Commitment | None = None  # None: the objective's
    carried_from: Ref | None = None


@dataclass(frozen=True, slots=True)
class Objective:
    """An objective (parsed and defaulted spec)."""

    ref: Ref
    generation: int
    title: str
    period: Period
    parent: Ref | None = None
    weight: float = 1.0
    rollup: RollupMode = RollupMode.WEIGHTED_AVERAGE
    description: str = ""
    owner: str = ""
    labels: Mapping[str, str] = field(default_factory=_frozen)
    check_in_every: timedelta | None = None
    commitment: Commitment = Commitment.COMMITTED
    carried_from: Ref | None = None


@dataclass(frozen=True, slots=True)
class OwnerCheckIn:
    """A CheckIn object: the owner's confidence (and maybe a value) for one key result.

    ``time`` is ``spec.time``, or the creation time when it is left out.
    """

    ref: Ref
    key_result: str
    time: datetime
    confidence: float
    note: str = ""
    blockers: tuple[str, ...] = ()
    author: str = ""
    value: float | None = None


@dataclass(frozen=True, slots=True)
class LatestCheckIn:
    """``status.checkIn`` of a KeyResult: its latest CheckIn.

    ``blockers`` are that CheckIn's: a newer CheckIn states what blocks progress
    now, so an older one's blockers are not carried forward.
    """

    name: str
    time: datetime
    confidence: float
    note: str = ""
    author: str = ""
    value: float | None = None
    blockers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Sample:
    """One usable number from a query, with the server's ``warnings`` if it sent any."""

    value: float
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Problem:
    """Why an evaluation produced no usable number.

    ``reason`` is one of QUERY_FAILED, AMBIGUOUS_RESULT, NO_DATA, NOT_A_NUMBER,
    REFERENCE_NOT_FOUND, CYCLE_DETECTED, INVALID_SPEC. ``message`` is for humans
    and must never carry credentials.
    """

    reason: Reason
    message: str


Observation = Sample | Problem


@dataclass(frozen=True, slots=True)
class Condition:
    """metav1.Condition."""

    type: ConditionType
    status: ConditionStatus
    reason: str
    message: str
    last_transition_time: datetime
    observed_generation: int


@dataclass(frozen=True, slots=True)
class CheckIn:
    """One point of a key result's or objective's bounded history.

    ``confidence`` is the owner's confidence in force at ``time`` (key results
    with check-ins only).
    """

    time: datetime
    progress: float | None
    health: Health
    value: float | None = None
    confidence: float | None = None


@dataclass(frozen=True, slots=True)
class CarriedFrom:
    """``status.carriedFrom``: last period's object this one continues, with its final grade."""

    namespace: str
    name: str
    grade: float | None = None


@dataclass(frozen=True, slots=True)
class Basis:
    """What a forecast rests on: how many history points over how many days."""

    points: int
    days: float


@dataclass(frozen=True, slots=True)
class Forecast:
    """``status.forecast``.

    ``value`` is None for an objective (its members have different units);
    ``achieves`` says whether ``progress`` reaches the success line (1.0 for a
    committed key result, 0.7 for an aspirational one).
    """

    progress: float
    achieves: bool
    value: float | None = None
    basis: Basis | None = None


@dataclass(frozen=True, slots=True)
class Display:
    """``status.display``: the value and the target as people read them, with the unit.

    For ``kubectl get`` columns and UIs; the numbers themselves, at full precision,
    stay in ``status.value`` and ``spec.target``.
    """

    value: str | None = None
    target: str | None = None


@dataclass(frozen=True, slots=True)
class KeyResultStatus:
    """Everything the operator writes into a KeyResult's status.

    ``value_time`` is when ``value`` was measured: the last good value stays
    with its time when later evaluations fail.
    """

    observed_generation: int | None = None
    value: float | None = None
    value_time: datetime | None = None
    baseline: float | None = None
    progress: float | None = None
    expected_progress: float | None = None
    health: Health | None = None
    last_evaluation_time: datetime | None = None
    grade: float | None = None
    history: tuple[CheckIn, ...] = ()
    conditions: tuple[Condition, ...] = ()
    display: Display = Display()
    check_in: LatestCheckIn | None = None
    check_in_due: bool | None = None
    forecast: Forecast | None = None
    commitment: Commitment | None = None
    carried_from: CarriedFrom | None = None


@dataclass(frozen=True, slots=True)
class ChildRef:
    """A direct child objective, as listed in ``status.children``."""

    namespace: str
    name: str
    progress: float | None
    health: Health


@dataclass(frozen=True, slots=True)
class ObjectiveStatus:
    """Everything the operator writes into an Objective's status.

    ``key_results`` counts the objective's own key results per health
    (``{"total": 3, "OnTrack": 2, "AtRisk": 1}``).
    """

    observed_generation: int | None = None
    progress: float | None = None
    expected_progress: float | None = None
    health: Health | None = None
    last_evaluation_time: datetime | None = None
    grade: float | None = None
    key_results: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    children: tuple[ChildRef, ...] = ()
    history: tuple[CheckIn, ...] = ()
    conditions: tuple[Condition, ...] = ()
    forecast: Forecast | None = None
    carried_from: CarriedFrom | None = None
