"""Pydantic models of the ``spec`` of every okr.dev kind, field for field as in ``crds/``.

They check shape and types only (unknown fields, required fields, enums, ranges);
rules that relate fields to each other live in ``okr_operator.api.spec`` so that
all problems of one object are reported together with messages we control.
Defaults match the CRD defaults, because the CLI validates files the API server
has not defaulted yet.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    field_validator,
)
from pydantic.alias_generators import to_camel

from okr_operator.domain.durations import duration_milliseconds
from okr_operator.domain.model import (
    Commitment,
    Direction,
    OnEmpty,
    QueryLanguage,
    RollupMode,
    SourceKind,
)


def _timestamp_only(value: Any) -> Any:
    """Refuse numbers where RFC 3339 text is expected (pydantic would read epoch seconds)."""
    if isinstance(value, datetime | str):
        return value
    raise ValueError("must be an RFC 3339 timestamp such as 2026-10-01T00:00:00Z")


# Strict: "300" (a string) is not a number in the CRD either; ints are fine.
Number = Annotated[float, Strict(), Field(allow_inf_nan=False)]


def _plain_offset(value: datetime) -> datetime:
    """Swap pydantic's own tzinfo class for the standard library's fixed offset."""
    offset = value.utcoffset()
    if offset is None:  # unreachable after AwareDatetime; keeps the types honest
        raise ValueError("must carry a UTC offset such as Z or +02:00")
    return value.replace(tzinfo=timezone(offset))


Timestamp = Annotated[
    AwareDatetime, BeforeValidator(_timestamp_only), AfterValidator(_plain_offset)
]
Name = Annotated[str, Field(min_length=1, max_length=253)]


class Wire(BaseModel):
    """Common configuration: camelCase on the wire, unknown fields rejected."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        extra="forbid",
        frozen=True,
    )


def _check_duration(value: str) -> str:
    # Syntax only: the range of each field is a rule in api.spec, with its bound.
    duration_milliseconds(value)
    return value


class PeriodWire(Wire):
    """``spec.period``: a quarter in a time zone, or start and end."""

    quarter: str | None = Field(default=None, pattern=r"^[0-9]{4}-Q[1-4]$")
    time_zone: str = Field(default="UTC", max_length=64)
    start: Timestamp | None = None
    end: Timestamp | None = None

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}: expected an IANA name such as Europe/Berlin"
            ) from None
        return value


class ObjectiveRefWire(Wire):
    """``spec.objectiveRef`` of a KeyResult."""

    name: Name


class SourceRefWire(Wire):
    """``spec.sourceRef`` of a KeyResult."""

    kind: SourceKind
    name: Name


class HealthWire(Wire):
    """``spec.health`` of a KeyResult."""

    at_risk_lag: Annotated[Number, Field(ge=0, le=1)] = 0.10
    off_track_lag: Annotated[Number, Field(ge=0, le=1)] = 0.25


class CheckInsWire(Wire):
    """``spec.checkIns`` of an Objective or KeyResult: the check-in cadence."""

    every: str = Field(min_length=2, max_length=32)

    @field_validator("every")
    @classmethod
    def _every_is_duration(cls, value: str) -> str:
        return _check_duration(value)


class CarriedFromWire(Wire):
    """``spec.carriedFrom``: last period's object of the same kind this one continues."""

    name: Name
    namespace: str | None = Field(default=None, max_length=63)


class KeyResultSpecWire(Wire):
    """``spec`` of a KeyResult."""

    objective_ref: ObjectiveRefWire
    description: str = Field(default="", max_length=4096)
    owner: str = Field(default="", max_length=256)
    unit: str = Field(default="", max_length=64)
    query: str | None = Field(default=None, min_length=1, max_length=16384)
    manual: Annotated[bool, Strict()] | None = None
    check_ins: CheckInsWire | None = None
    direction: Direction | None = None
    baseline: Number | None = None
    target: Number
    weight: Annotated[Number, Field(ge=0)] = 1.0
    interval: str = Field(default="1m", max_length=32)
    period: PeriodWire | None = None
    source_ref: SourceRefWire | None = None
    on_empty: OnEmpty = OnEmpty.NO_DATA
    health: HealthWire = Field(default_factory=HealthWire)
    commitment: Commitment | None = None
    carried_from: CarriedFromWire | None = None

    @field_validator("interval")
    @classmethod
    def _interval_is_duration(cls, value: str) -> str:
        return _check_duration(value)


class ParentRefWire(Wire):
    """``spec.parentRef`` of an Objective."""

    name: Name
    namespace: str | None = Field(default=None, max_length=63)


class ObjectiveSpecWire(Wire):
    """``spec`` of an Objective."""

    title: str = Field(min_length=1, max_length=512)
    description: str = Field(default="", max_length=4096)
    owner: str = Field(default="", max_length=256)
    period: PeriodWire
    parent_ref: ParentRefWire | None = None
    weight: Annotated[Number, Field(ge=0)] = 1.0
    rollup: RollupMode = RollupMode.WEIGHTED_AVERAGE
    check_ins: CheckInsWire | None = None
    commitment: Commitment = Commitment.COMMITTED
    carried_from: CarriedFromWire | None = None


class KeyResultRefWire(Wire):
    """``spec.keyResultRef`` of a CheckIn."""

    name: Name


class CheckInSpecWire(Wire):
    """``spec`` of a CheckIn."""

    key_result_ref: KeyResultRefWire
    confidence: Annotated[Number, Field(ge=0, le=1)]
    note: str = Field(default="", max_length=4096)
    blockers: list[Annotated[str, Field(max_length=1024)]] = Field(
        default_factory=list, max_length=32
    )
    author: str = Field(default="", max_length=256)
    value: Number | None = None
    time: Timestamp | None = None


class SecretKeyRefWire(Wire):
    """A key in a Secret or ConfigMap."""

    name: Name
    key: Name


class SecretRefWire(Wire):
    """A whole Secret (basic auth: keys ``username`` and ``password``)."""

    name: Name


class TlsWire(Wire):
    """``spec.tls`` of a Prometheus source."""

    ca_secret_ref: SecretKeyRefWire | None = None
    ca_config_map_ref: SecretKeyRefWire | None = None
    insecure_skip_verify: Annotated[bool, Strict()] = False


class PrometheusSourceSpecWire(Wire):
    """``spec`` of a PrometheusSource or ClusterPrometheusSource."""

    url: str = Field(min_length=8, max_length=2048, pattern=r"^https?://")
    timeout: str = Field(default="30s", max_length=32)
    headers: dict[str, str] = Field(default_factory=dict, max_length=32)
    bearer_token_secret_ref: SecretKeyRefWire | None = None
    basic_auth_secret_ref: SecretRefWire | None = None
    tls: TlsWire = Field(default_factory=TlsWire)
    max_concurrent_queries: Annotated[int, Strict(), Field(ge=1, le=256)] | None = None
    query_language: QueryLanguage = QueryLanguage.PROMQL

    @field_validator("timeout")
    @classmethod
    def _timeout_is_duration(cls, value: str) -> str:
        return _check_duration(value)
