"""The demo organisation with a quarter's worth of status, for the report and digest tests.

A real operator writes one ``status.history`` point a day, so a test run cannot
wait for weeks of it. Instead the operator's own evaluation code
(``services.evaluate.evaluate_key_result`` over the real Prometheus adapter, and
``domain.rollup.objective_status``) is replayed once a day from the period
start to now against a Prometheus holding the demo's backfilled history
(hack/history.py), with the example CheckIns in force on each day (applied as
the engine applies them, ``domain.checkins.apply_check_ins``), and the result
is written with the operator's serialiser into the status subresource of the
examples applied to the API server. What
the reports read is therefore exactly what the operator would have written.

The examples go into namespaces with a unique prefix (``parentRef`` rewritten to
match), so they never meet other tests' objects or the demo.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from okr_operator.adapters.prometheus import Connection, PrometheusQuerier
from okr_operator.api.spec import parse_check_in, parse_key_result, parse_objective
from okr_operator.api.status import key_result_status_to_dict, objective_status_to_dict
from okr_operator.domain.checkins import apply_check_ins
from okr_operator.domain.model import (
    KeyResult,
    KeyResultStatus,
    Objective,
    ObjectiveStatus,
    OwnerCheckIn,
    Ref,
)
from okr_operator.domain.rollup import Member, objective_status
from okr_operator.services.evaluate import evaluate_key_result
from tests.support.processes import REPO_ROOT

EXAMPLES = REPO_ROOT / "examples"
FILES = (
    "company.yaml",
    "platform.yaml",
    "reliability.yaml",
    "ml-platform.yaml",
    "check-ins.yaml",
)


@dataclass
class DemoOrganisation:
    """The examples as applied (prefixed namespaces) and the statuses replayed for them.

    ``check_ins`` are replayed into the key results' status; they are not applied
    (the reports read only objectives and key results).
    """

    prefix: str
    namespaces: list[dict[str, Any]]
    objectives: list[dict[str, Any]]
    key_results: list[dict[str, Any]]
    check_ins: list[dict[str, Any]] = field(default_factory=list)

    def namespace(self, original: str) -> str:
        """The test's name for an example namespace (``okr-company`` → ``<prefix>okr-company``)."""
        return self.prefix + original

    def manifests(self) -> str:
        """Namespaces, objectives and key results as one YAML stream for ``kubectl apply``."""
        docs = [*self.namespaces, *self.objectives, *self.key_results]
        return yaml.safe_dump_all(docs, sort_keys=False)


def demo_organisation(prefix: str) -> DemoOrganisation:
    """The examples' objects with every namespace prefixed (status not yet filled)."""
    namespaces = [
        doc for doc in yaml.safe_load_all((EXAMPLES / "00-namespaces.yaml").read_text()) if doc
    ]
    docs = [d for name in FILES for d in yaml.safe_load_all((EXAMPLES / name).read_text()) if d]
    for doc in [*namespaces, *docs]:
        meta = doc["metadata"]
        if doc["kind"] == "Namespace":
            meta["name"] = prefix + meta["name"]
        else:
            meta["namespace"] = prefix + meta["namespace"]
        parent = (doc.get("spec") or {}).get("parentRef")
        if parent and parent.get("namespace"):
            parent["namespace"] = prefix + parent["namespace"]
    return DemoOrganisation(
        prefix=prefix,
        namespaces=namespaces,
        objectives=[d for d in docs if d["kind"] == "Objective"],
        key_results=[d for d in docs if d["kind"] == "KeyResult"],
        check_ins=[d for d in docs if d["kind"] == "CheckIn"],
    )


def _days(start: datetime, now: datetime) -> Iterator[datetime]:
    moment = start.astimezone(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    while moment < now:
        yield moment
        moment += timedelta(days=1)
    yield now


def _order(objectives: Sequence[Objective]) -> list[Objective]:
    """Children before their parents, so each day's rollup sees today's children."""
    by_ref = {o.ref: o for o in objectives}

    def depth(obj: Objective) -> int:
        seen, level, parent = set(), 0, obj.parent
        while parent is not None and parent in by_ref and parent not in seen:
            seen.add(parent)
            level += 1
            parent = by_ref[parent].parent
        return level

    return sorted(objectives, key=depth, reverse=True)


async def _replay(
    org: DemoOrganisation, prometheus_url: str, now: datetime
) -> tuple[dict[Ref, KeyResultStatus], dict[Ref, ObjectiveStatus]]:
    objectives = _order([parse_objective(o) for o in org.objectives])
    key_results: list[KeyResult] = [parse_key_result(k) for k in org.key_results]
    periods = {o.ref: o.period for o in objectives}
    by_ref = {o.ref: o for o in objectives}
    check_ins: dict[Ref, list[OwnerCheckIn]] = {}
    for check_in in (parse_check_in(c) for c in org.check_ins):
        check_ins.setdefault(Ref(check_in.ref.namespace, check_in.key_result), []).append(check_in)
    kr_status = {kr.ref: KeyResultStatus() for kr in key_results}
    obj_status = {o.ref: ObjectiveStatus() for o in objectives}
    start = min(p.start for p in periods.values())
    with ThreadPoolExecutor(max_workers=4) as pool:
        querier = PrometheusQuerier(Connection(url=prometheus_url), executor=pool)
        try:
            for moment in _days(start, now):
                for kr in key_results:
                    objective = by_ref[Ref(kr.ref.namespace, kr.objective)]
                    period = kr.period or objective.period
                    known = [c for c in check_ins.get(kr.ref, []) if c.time <= moment]
                    outcome = await evaluate_key_result(
                        kr, period, kr_status[kr.ref], querier=querier, now=moment, check_ins=known
                    )
                    kr_status[kr.ref] = apply_check_ins(
                        outcome.status,
                        known,
                        every=kr.check_in_every or objective.check_in_every,
                        period=period,
                        now=moment,
                    )
                for obj in objectives:
                    own = [
                        Member("KeyResult", kr.ref, kr.weight, s.progress, s.health)
                        for kr in key_results
                        if Ref(kr.ref.namespace, kr.objective) == obj.ref
                        for s in [kr_status[kr.ref]]
                    ]
                    children = [
                        Member("Objective", c.ref, c.weight, s.progress, s.health)
                        for c in objectives
                        if c.parent == obj.ref
                        for s in [obj_status[c.ref]]
                    ]
                    obj_status[obj.ref] = objective_status(
                        obj,
                        obj_status[obj.ref],
                        key_results=own,
                        children=children,
                        problem=None,
                        now=moment,
                    )
        finally:
            querier.close()
    return kr_status, obj_status


def fill_status(org: DemoOrganisation, prometheus_url: str, now: datetime) -> None:
    """Replay the evaluations up to ``now`` and store each status in the object's ``status``."""
    kr_status, obj_status = asyncio.run(_replay(org, prometheus_url, now))
    for doc in org.key_results:
        ref = Ref(doc["metadata"]["namespace"], doc["metadata"]["name"])
        doc["status"] = key_result_status_to_dict(kr_status[ref])
    for doc in org.objectives:
        ref = Ref(doc["metadata"]["namespace"], doc["metadata"]["name"])
        doc["status"] = objective_status_to_dict(obj_status[ref])


def status_patches(org: DemoOrganisation) -> Iterator[tuple[str, str, str, str]]:
    """(resource, namespace, name, merge patch) for ``kubectl patch --subresource=status``."""
    for doc in [*org.objectives, *org.key_results]:
        meta = doc["metadata"]
        body = json.dumps({"status": copy.deepcopy(doc["status"])})
        resource = "objectives.okr.dev" if doc["kind"] == "Objective" else "keyresults.okr.dev"
        yield resource, meta["namespace"], meta["name"], body


def save(org: DemoOrganisation, path: Path) -> None:
    """The objects with their status as JSON (a test artefact for looking at the data)."""
    path.write_text(json.dumps([*org.objectives, *org.key_results], indent=1))
