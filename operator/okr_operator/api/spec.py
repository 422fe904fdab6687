"""Spec validation: user objects (whole bodies) to domain values, or a SpecError.

This is the one implementation of the rules in ``crds/``; the operator, the
CLI and a future admission webhook all call it, so a file that ``okr``
accepts is one the operator can evaluate. Shape and types are checked by the
pydantic models in ``okr_operator.api.wire``; the rules that relate fields to
each other are below, each with a message that names the field.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, TypeVar
from urllib.parse import urlsplit

import promql_parser
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from okr_operator.api.apiserver import name_problem, prune_nulls
from okr_operator.api.wire import (
    CarriedFromWire,
    CheckInSpecWire,
    CheckInsWire,
    KeyResultSpecWire,
    ObjectiveSpecWire,
    PeriodWire,
    PrometheusSourceSpecWire,
    SecretKeyRefWire,
)
from okr_operator.domain.durations import ELAPSED_VARIABLE, duration_milliseconds, parse_duration
from okr_operator.domain.model import (
    GROUP,
    LABEL_PREFIX,
    VERSION,
    Direction,
    KeyResult,
    Lags,
    Objective,
    OwnerCheckIn,
    Period,
    QueryLanguage,
    Ref,
    SourceKind,
    SourceRef,
)
from okr_operator.domain.periods import quarter_period
from okr_operator.domain.progress import infer_direction
from okr_operator.domain.sources import PrometheusSourceSpec, SecretKeyRef

MIN_INTERVAL = timedelta(seconds=10)
# Bounds that keep every date the operator computes (now + interval) in range;
# the CRDs state the same ones in CEL.
MAX_INTERVAL = timedelta(days=365)
MAX_TIMEOUT = timedelta(hours=1)
_MILLISECOND = timedelta(milliseconds=1)
_HOUR = timedelta(hours=1)
# What $__elapsed stands for during the syntax check: any valid range will do.
_ELAPSED_PLACEHOLDER = "1m"

KEY_RESULT = "KeyResult"
OBJECTIVE = "Objective"
CHECK_IN = "CheckIn"
PROMETHEUS_SOURCE = SourceKind.PROMETHEUS_SOURCE.value
CLUSTER_PROMETHEUS_SOURCE = SourceKind.CLUSTER_PROMETHEUS_SOURCE.value
KINDS = (KEY_RESULT, OBJECTIVE, CHECK_IN, PROMETHEUS_SOURCE, CLUSTER_PROMETHEUS_SOURCE)

Problems = list[tuple[str, str]]
_Model = TypeVar("_Model", bound=BaseModel)


class SpecError(ValueError):
    """An object whose spec (or metadata) the operator cannot use.

    ``problems`` are ``(field path, message)`` pairs such as
    ``("spec.target", "must differ from spec.baseline (both 300.0)")``.
    """

    def __init__(self, kind: str, ref: str, problems: Sequence[tuple[str, str]]) -> None:
        self.kind = kind
        self.ref = ref
        self.problems: tuple[tuple[str, str], ...] = tuple(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        listed = "; ".join(f"{path}: {message}" for path, message in self.problems)
        return f"{self.kind} {self.ref}: {listed}"

    def lines(self) -> list[str]:
        """One self-contained line per problem, as the CLI prints them."""
        return [f"{self.kind} {self.ref}: {path}: {message}" for path, message in self.problems]


@dataclass(frozen=True, slots=True)
class _Metadata:
    namespace: str
    name: str
    generation: int
    labels: Mapping[str, str]

    @property
    def ref(self) -> Ref:
        return Ref(self.namespace, self.name)

    def display(self) -> str:
        # Files validated by the CLI often carry no namespace (kubectl -n supplies it).
        name = self.name or "(unnamed)"
        return f"{self.namespace}/{name}" if self.namespace else name


# --- public parsers ---------------------------------------------------------


def parse_key_result(
    body: Mapping[str, Any], *, query_language: QueryLanguage | None = None
) -> KeyResult:
    """The KeyResult in ``body`` (the whole object), defaulted; SpecError if unusable.

    ``query_language`` is the language of the key result's source when the
    caller knows it and must decide alone (``okr validate``, the webhook):
    PromQL makes a query the local parser rejects a problem, MetricsQL leaves
    the query to the server. None (the operator, which asks the server) never
    refuses a query: the local verdict goes into ``KeyResult.query_error``
    (``okr_operator.domain.query_check`` says what happens then).
    """
    meta, problems = _metadata(body)
    wire = _shape(KeyResultSpecWire, body, problems)
    query = wire.query if wire is not None and wire.query is not None else ""
    query_error = local_query_error(query) if wire is not None and query else None
    if wire is not None:
        if query_error is not None and query_language is QueryLanguage.PROMQL:
            problems.append(("spec.query", query_error))
        problems += _key_result_rules(wire)
    if wire is None or problems:
        raise SpecError(KEY_RESULT, meta.display(), problems)
    direction = wire.direction
    if direction is None and wire.baseline is not None:
        direction = infer_direction(wire.baseline, wire.target)
    return KeyResult(
        ref=meta.ref,
        generation=meta.generation,
        objective=wire.objective_ref.name,
        query=query,
        target=wire.target,
        direction=direction,
        baseline=wire.baseline,
        weight=wire.weight,
        interval=parse_duration(wire.interval),
        period=_period(wire.period) if wire.period is not None else None,
        source=(
            SourceRef(kind=wire.source_ref.kind, name=wire.source_ref.name)
            if wire.source_ref is not None
            else None
        ),
        on_empty=wire.on_empty,
        lags=Lags(at_risk=wire.health.at_risk_lag, off_track=wire.health.off_track_lag),
        description=wire.description,
        owner=wire.owner,
        unit=wire.unit,
        labels=meta.labels,
        query_error=query_error,
        manual=bool(wire.manual),
        check_in_every=_every(wire.check_ins),
        commitment=wire.commitment,
        carried_from=_carried_from(wire.carried_from, meta),
    )


def parse_objective(body: Mapping[str, Any]) -> Objective:
    """The Objective in ``body`` (the whole object), defaulted; SpecError if unusable."""
    meta, problems = _metadata(body)
    wire = _shape(ObjectiveSpecWire, body, problems)
    parent = _parent(wire, meta)
    if wire is not None:
        problems += _period_rules(wire.period)
        problems += _check_ins_rules(wire.check_ins)
        if parent == meta.ref and meta.name:
            problems.append(("spec.parentRef", "must not name the Objective itself"))
    if wire is None or problems:
        raise SpecError(OBJECTIVE, meta.display(), problems)
    return Objective(
        ref=meta.ref,
        generation=meta.generation,
        title=wire.title,
        period=_period(wire.period),
        parent=parent,
        weight=wire.weight,
        rollup=wire.rollup,
        description=wire.description,
        owner=wire.owner,
        labels=meta.labels,
        check_in_every=_every(wire.check_ins),
        commitment=wire.commitment,
        carried_from=_carried_from(wire.carried_from, meta),
    )


def parse_check_in(body: Mapping[str, Any]) -> OwnerCheckIn:
    """The CheckIn in ``body`` (spec.time defaults to the creation time); SpecError if unusable."""
    meta, problems = _metadata(body)
    wire = _shape(CheckInSpecWire, body, problems)
    time = wire.time if wire is not None else None
    if time is None:
        metadata = body.get("metadata")
        created = metadata.get("creationTimestamp") if isinstance(metadata, Mapping) else None
        time = _creation_time(created)
    if wire is not None and time is None:
        problems.append(("spec.time", "is required when metadata.creationTimestamp is not set"))
    if wire is None or problems or time is None:
        raise SpecError(CHECK_IN, meta.display(), problems)
    return OwnerCheckIn(
        ref=meta.ref,
        key_result=wire.key_result_ref.name,
        time=time.astimezone(UTC),
        confidence=wire.confidence,
        note=wire.note,
        blockers=tuple(wire.blockers),
        author=wire.author,
        value=wire.value,
    )


def _creation_time(raw: object) -> datetime | None:
    if isinstance(raw, datetime):
        return raw if raw.tzinfo is not None else raw.replace(tzinfo=UTC)
    if not isinstance(raw, str):
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def parse_prometheus_source(body: Mapping[str, Any]) -> tuple[Ref, PrometheusSourceSpec]:
    """A PrometheusSource or ClusterPrometheusSource (``Ref("", name)``, it has no namespace)."""
    kind = body.get("kind") or PROMETHEUS_SOURCE
    meta, problems = _metadata(body)
    wire = _shape(PrometheusSourceSpecWire, body, problems)
    if wire is not None:
        problems += _source_rules(wire)
    if wire is None or problems:
        raise SpecError(str(kind), meta.display(), problems)
    ref = Ref("", meta.name) if kind == CLUSTER_PROMETHEUS_SOURCE else meta.ref
    return ref, PrometheusSourceSpec(
        url=wire.url,
        timeout=parse_duration(wire.timeout),
        headers=MappingProxyType(dict(wire.headers)),
        bearer_token=_secret_key(wire.bearer_token_secret_ref),
        basic_auth_secret=(
            wire.basic_auth_secret_ref.name if wire.basic_auth_secret_ref is not None else None
        ),
        ca_secret=_secret_key(wire.tls.ca_secret_ref),
        ca_config_map=_secret_key(wire.tls.ca_config_map_ref),
        insecure_skip_verify=wire.tls.insecure_skip_verify,
        query_language=wire.query_language,
        max_concurrent_queries=wire.max_concurrent_queries,
    )


def _validate_check_in(body: Mapping[str, Any]) -> OwnerCheckIn:
    # A file has no creationTimestamp yet: the API server sets it on create.
    metadata = body.get("metadata")
    if isinstance(metadata, Mapping) and "creationTimestamp" not in metadata:
        body = {**body, "metadata": {**metadata, "creationTimestamp": "2000-01-01T00:00:00Z"}}
    return parse_check_in(body)


_PARSERS: Mapping[str, Callable[[Mapping[str, Any]], object]] = {
    OBJECTIVE: parse_objective,
    CHECK_IN: _validate_check_in,
    PROMETHEUS_SOURCE: parse_prometheus_source,
    CLUSTER_PROMETHEUS_SOURCE: parse_prometheus_source,
}


def validate_document(
    doc: Mapping[str, Any], *, query_language: QueryLanguage = QueryLanguage.PROMQL
) -> list[str]:
    """Problems of one YAML document, one line each; empty when valid or not ours.

    Documents of other API groups are none of our business and pass.
    ``query_language`` is the language of a KeyResult's source (see
    ``query_language_for``): a query the local PromQL parser rejects is a
    problem only for PromQL; for MetricsQL the server decides.
    """
    if not _ours(doc):
        return []
    # The API server drops non-nullable nulls before it validates: so do we.
    doc = prune_nulls(doc)
    api_version = doc.get("apiVersion")
    kind = doc.get("kind")
    meta, _ = _metadata(doc)
    label = f"{kind if isinstance(kind, str) and kind else '(no kind)'} {meta.display()}"
    expected_version = f"{GROUP}/{VERSION}"
    if api_version != expected_version:
        return [
            f"{label}: apiVersion: unknown version {api_version!r}, expected {expected_version}"
        ]
    parser = _PARSERS.get(kind) if isinstance(kind, str) else None
    if kind == KEY_RESULT:
        parser = functools.partial(parse_key_result, query_language=query_language)
    if parser is None:
        return [
            f"{label}: kind: unknown kind {kind!r} in {GROUP}, expected one of {', '.join(KINDS)}"
        ]
    try:
        parser(doc)
    except SpecError as error:
        return error.lines()
    return []


def query_language_for(
    key_result: Mapping[str, Any],
    documents: Iterable[Mapping[str, Any]],
    *,
    default: QueryLanguage = QueryLanguage.PROMQL,
) -> QueryLanguage:
    """The query language of the source a KeyResult document queries, found in ``documents``.

    ``spec.sourceRef`` naming a PrometheusSource (same namespace; a document
    without a namespace matches any, as ``kubectl -n`` would apply both to one)
    or a ClusterPrometheusSource among ``documents`` gives that source's
    ``spec.queryLanguage`` (PromQL when unset). Without a sourceRef, or when the
    source is not among ``documents`` (it lives in the cluster), ``default``:
    the language of the operator's default source (``okr run --query-language``).
    """
    spec = key_result.get("spec")
    ref = spec.get("sourceRef") if isinstance(spec, Mapping) else None
    if not isinstance(ref, Mapping):
        return default
    namespace = _metadata(key_result)[0].namespace
    for doc in documents:
        if doc.get("kind") != ref.get("kind") or not _ours(doc):
            continue
        meta = _metadata(doc)[0]
        same_place = (
            doc.get("kind") == CLUSTER_PROMETHEUS_SOURCE
            or not meta.namespace
            or not namespace
            or meta.namespace == namespace
        )
        if meta.name == ref.get("name") and same_place:
            source_spec = doc.get("spec")
            language = (
                source_spec.get("queryLanguage") if isinstance(source_spec, Mapping) else None
            )
            try:
                return QueryLanguage(language or QueryLanguage.PROMQL)
            except ValueError:
                return default  # the source's own validation reports the value
    return default


def _ours(doc: Mapping[str, Any]) -> bool:
    api_version = doc.get("apiVersion")
    return isinstance(api_version, str) and api_version.partition("/")[0] == GROUP


def local_query_error(query: str) -> str | None:
    """What the local PromQL parser finds wrong with ``query``; None when it parses.

    The parser is promql-parser (PyPI 0.12, the Rust crate 0.11), which follows
    Prometheus 3.x: it rejects some functions older servers have (holt_winters
    before Prometheus 3.0) and accepts some they lack.
    """
    try:
        promql_parser.parse(query.replace(ELAPSED_VARIABLE, _ELAPSED_PLACEHOLDER))
    except ValueError as error:
        return f"invalid PromQL: {error}"
    return None


# --- metadata ---------------------------------------------------------------


def _metadata(body: Mapping[str, Any]) -> tuple[_Metadata, Problems]:
    problems: Problems = []
    metadata = body.get("metadata")
    if not isinstance(metadata, Mapping):
        metadata = {}
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        problems.append(("metadata.name", "is required"))
        name = ""
    elif (refused := name_problem(name)) is not None:
        problems.append(("metadata.name", refused))
    namespace = metadata.get("namespace")
    if not isinstance(namespace, str):
        namespace = ""
    generation = metadata.get("generation", 1)
    if isinstance(generation, bool) or not isinstance(generation, int) or generation < 1:
        problems.append(("metadata.generation", f"must be a positive integer, got {generation!r}"))
        generation = 1
    labels = metadata.get("labels")
    ours = {
        key.removeprefix(LABEL_PREFIX): value
        for key, value in (labels.items() if isinstance(labels, Mapping) else ())
        if isinstance(key, str) and key.startswith(LABEL_PREFIX) and isinstance(value, str)
    }
    meta = _Metadata(namespace, name, generation, MappingProxyType(ours))
    return meta, problems


# --- shape (pydantic) -------------------------------------------------------


def _shape(model: type[_Model], body: Mapping[str, Any], problems: Problems) -> _Model | None:
    """Validate ``body["spec"]`` with ``model``; translate errors into ``problems``."""
    spec = body.get("spec")
    if spec is None:
        problems.append(("spec", "is required"))
        return None
    try:
        return model.model_validate(spec)
    except ValidationError as error:
        problems.extend(_translate(detail) for detail in error.errors())
        return None


def _translate(detail: ErrorDetails) -> tuple[str, str]:
    path = "spec"
    for part in detail["loc"]:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    kind = detail["type"]
    context = detail.get("ctx") or {}
    if kind == "missing":
        message = "is required"
    elif kind == "extra_forbidden":
        message = "unknown field"
    elif kind == "value_error" and "error" in context:
        message = str(context["error"])
    elif kind == "string_pattern_mismatch":
        message = f"must match {context['pattern']}, got {detail['input']!r}"
    else:
        # pydantic's own sentences ("Input should be ...") read fine after the path.
        message = detail["msg"][:1].lower() + detail["msg"][1:]
    return path, message


# --- rules that relate fields -----------------------------------------------


def _key_result_rules(wire: KeyResultSpecWire) -> Problems:
    problems: Problems = []
    problems += _measurement_rules(wire)
    problems += _check_ins_rules(wire.check_ins)
    problems += _direction_rules(wire)
    interval = duration_milliseconds(wire.interval)
    if interval < MIN_INTERVAL // _MILLISECOND:
        problems.append(("spec.interval", f"must be at least 10s, got {wire.interval}"))
    elif interval > MAX_INTERVAL // _MILLISECOND:
        problems.append(("spec.interval", f"must be at most 1y (365d), got {wire.interval}"))
    if wire.period is not None:
        problems += _period_rules(wire.period)
    if wire.health.at_risk_lag > wire.health.off_track_lag:
        problems.append(
            (
                "spec.health.atRiskLag",
                f"must not exceed spec.health.offTrackLag "
                f"({wire.health.at_risk_lag!r} > {wire.health.off_track_lag!r})",
            )
        )
    return problems


def _measurement_rules(wire: KeyResultSpecWire) -> Problems:
    """Exactly one of spec.query (measured) or spec.manual: true (check-ins)."""
    manual = bool(wire.manual)
    if wire.query is not None and manual:
        return [("spec.manual", "must not be set together with spec.query: exactly one of them")]
    if wire.query is None and not manual:
        return [
            (
                "spec.query",
                "is required, or spec.manual: true for a key result measured by its check-ins",
            )
        ]
    if manual and wire.source_ref is not None:
        return [("spec.sourceRef", "must not be set on a manual key result (it has no query)")]
    return []


def _check_ins_rules(check_ins: CheckInsWire | None) -> Problems:
    if check_ins is None:
        return []
    every = duration_milliseconds(check_ins.every)
    if every < _HOUR // _MILLISECOND:
        return [("spec.checkIns.every", f"must be at least 1h, got {check_ins.every}")]
    if every > MAX_INTERVAL // _MILLISECOND:
        return [("spec.checkIns.every", f"must be at most 1y (365d), got {check_ins.every}")]
    return []


def _every(check_ins: CheckInsWire | None) -> timedelta | None:
    return parse_duration(check_ins.every) if check_ins is not None else None


def _direction_rules(wire: KeyResultSpecWire) -> Problems:
    baseline, target, direction = wire.baseline, wire.target, wire.direction
    if baseline is None or direction in (Direction.STAY_ABOVE, Direction.STAY_BELOW):
        # Without a baseline there is nothing to compare yet; Stay* ignore it.
        return []
    if target == baseline:
        return [("spec.target", f"must differ from spec.baseline (both {target!r})")]
    numbers = f"(target {target!r}, baseline {baseline!r})"
    if direction is Direction.INCREASE and target < baseline:
        return [("spec.direction", f"Increase needs spec.target above spec.baseline {numbers}")]
    if direction is Direction.DECREASE and target > baseline:
        return [("spec.direction", f"Decrease needs spec.target below spec.baseline {numbers}")]
    return []


def _period_rules(period: PeriodWire) -> Problems:
    has_range = period.start is not None or period.end is not None
    if period.quarter is not None and has_range:
        return [("spec.period", "takes either quarter or start and end, not both")]
    if period.quarter is None and (period.start is None or period.end is None):
        return [("spec.period", "needs either quarter or both start and end")]
    if period.quarter is not None:
        try:
            quarter_period(period.quarter, period.time_zone)
        except ValueError as error:  # year 0000: the pattern cannot exclude it
            return [("spec.period.quarter", str(error))]
    if period.start is not None and period.end is not None and period.end <= period.start:
        return [
            (
                "spec.period.end",
                f"must be after spec.period.start "
                f"({period.end.isoformat()} is not after {period.start.isoformat()})",
            )
        ]
    return []


def _source_rules(wire: PrometheusSourceSpecWire) -> Problems:
    problems: Problems = []
    if not urlsplit(wire.url).hostname:
        problems.append(("spec.url", f"must be an http(s) URL with a host, got {wire.url!r}"))
    timeout = duration_milliseconds(wire.timeout)
    if timeout <= 0:
        problems.append(("spec.timeout", f"must be longer than 0s, got {wire.timeout}"))
    elif timeout > MAX_TIMEOUT // _MILLISECOND:
        problems.append(("spec.timeout", f"must be at most 1h, got {wire.timeout}"))
    if wire.bearer_token_secret_ref is not None and wire.basic_auth_secret_ref is not None:
        problems.append(
            ("spec.basicAuthSecretRef", "cannot be combined with spec.bearerTokenSecretRef")
        )
    if wire.tls.ca_secret_ref is not None and wire.tls.ca_config_map_ref is not None:
        problems.append(("spec.tls.caConfigMapRef", "cannot be combined with spec.tls.caSecretRef"))
    return problems


# --- conversions ------------------------------------------------------------


def _period(period: PeriodWire) -> Period:
    """The Period of a ``spec.period`` that passed ``_period_rules``."""
    if period.quarter is not None:
        return quarter_period(period.quarter, period.time_zone)
    if period.start is None or period.end is None:  # excluded by _period_rules
        raise ValueError("spec.period needs either quarter or both start and end")
    return Period(start=period.start, end=period.end)


def _carried_from(wire: CarriedFromWire | None, meta: _Metadata) -> Ref | None:
    if wire is None:
        return None
    return Ref(wire.namespace or meta.ref.namespace, wire.name)


def _parent(wire: ObjectiveSpecWire | None, meta: _Metadata) -> Ref | None:
    if wire is None or wire.parent_ref is None:
        return None
    return Ref(wire.parent_ref.namespace or meta.namespace, wire.parent_ref.name)


def _secret_key(wire: SecretKeyRefWire | None) -> SecretKeyRef | None:
    return SecretKeyRef(wire.name, wire.key) if wire is not None else None
