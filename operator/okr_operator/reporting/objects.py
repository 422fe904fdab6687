"""API objects (as ``kubectl get -o json`` returns them) to a reporting Snapshot.

The spec is parsed by the operator's own parser and the status read the way
the operator reads it, so a report sees exactly what the operator sees; an
object whose spec does not parse is kept, with the parser's message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from okr_operator.api.spec import SpecError, parse_key_result, parse_objective
from okr_operator.api.status import key_result_status_from_dict, objective_status_from_dict
from okr_operator.domain.model import Objective, Ref
from okr_operator.domain.snapshot import KeyResultSnapshot, ObjectiveSnapshot, Snapshot


def _ref(body: Mapping[str, Any]) -> Ref:
    meta = body.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    return Ref(str(meta.get("namespace", "")), str(meta.get("name", "")))


def snapshot_from_objects(
    key_results: Iterable[Mapping[str, Any]], objectives: Iterable[Mapping[str, Any]]
) -> Snapshot:
    """A Snapshot of the KeyResult and Objective objects; key results get their period in force."""
    objective_snapshots: list[ObjectiveSnapshot] = []
    for body in objectives:
        status = objective_status_from_dict(body.get("status"))
        try:
            spec: Objective | None = parse_objective(body)
        except SpecError as err:
            objective_snapshots.append(ObjectiveSnapshot(_ref(body), None, status, str(err)))
            continue
        objective_snapshots.append(ObjectiveSnapshot(_ref(body), spec, status))
    periods = {o.ref: o.spec.period for o in objective_snapshots if o.spec is not None}
    key_result_snapshots: list[KeyResultSnapshot] = []
    for body in key_results:
        ref, kr_status = _ref(body), key_result_status_from_dict(body.get("status"))
        try:
            kr = parse_key_result(body)
        except SpecError as err:
            key_result_snapshots.append(KeyResultSnapshot(ref, None, None, kr_status, str(err)))
            continue
        period = kr.period or periods.get(Ref(ref.namespace, kr.objective))
        key_result_snapshots.append(KeyResultSnapshot(ref, kr, period, kr_status))
    return Snapshot(key_results=tuple(key_result_snapshots), objectives=tuple(objective_snapshots))
