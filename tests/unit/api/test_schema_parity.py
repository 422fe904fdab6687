"""The pydantic wire models and the CRD schemas in crds/ describe the same spec.

Field names, required fields, defaults and enum values must agree, or the CLI
would accept what the API server refuses (or the reverse).
"""

from __future__ import annotations

import types
import typing
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from okr_operator.api.wire import (
    CheckInSpecWire,
    KeyResultSpecWire,
    ObjectiveSpecWire,
    PrometheusSourceSpecWire,
)

pytestmark = pytest.mark.unit

CRDS = Path(__file__).parents[3] / "crds"


def spec_schema(file_name: str) -> dict[str, Any]:
    crd = yaml.safe_load((CRDS / file_name).read_text())
    (version,) = crd["spec"]["versions"]
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    return schema


def _members(annotation: Any) -> list[Any]:
    """The types inside Optional/Union/Annotated, flattened."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _members(arg)]
    return [annotation]


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    for member in _members(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            return member
    return None


def _enum_values(annotation: Any) -> list[str] | None:
    for member in _members(annotation):
        if isinstance(member, type) and issubclass(member, Enum):
            return [item.value for item in member]
    return None


def differences(model: type[BaseModel], schema: dict[str, Any], path: str) -> list[str]:
    """Every disagreement between ``model`` and the structural ``schema``, as sentences."""
    found: list[str] = []
    fields = {info.alias or name: info for name, info in model.model_fields.items()}
    properties: dict[str, Any] = schema.get("properties", {})
    found += [f"{path}.{n} is in the model only" for n in sorted(fields.keys() - properties)]
    found += [f"{path}.{n} is in the CRD only" for n in sorted(properties.keys() - fields)]
    required_model = sorted(n for n, info in fields.items() if info.is_required())
    required_crd = sorted(schema.get("required", []))
    if required_model != required_crd:
        found.append(f"{path} requires {required_model} in the model, {required_crd} in the CRD")
    for name in sorted(fields.keys() & properties.keys()):
        info, prop, where = fields[name], properties[name], f"{path}.{name}"
        default = info.default
        if isinstance(default, Enum):
            default = default.value
        # None and "" stand for "left out" in the model; the CRD stores nothing then.
        if default not in (PydanticUndefined, None, ""):
            if prop.get("default") != default:
                crd_default = prop.get("default")
                found.append(
                    f"{where} defaults to {default!r} in the model, {crd_default!r} in the CRD"
                )
        elif "default" in prop and info.default_factory is None:
            found.append(f"{where} has a default only in the CRD: {prop['default']!r}")
        enum = _enum_values(info.annotation)
        if enum != prop.get("enum"):
            found.append(f"{where} allows {enum} in the model, {prop.get('enum')} in the CRD")
        nested = _nested_model(info.annotation)
        if nested is not None:
            found += differences(nested, prop, where)
        elif prop.get("type") == "object" and "additionalProperties" not in prop:
            found.append(f"{where} is an object in the CRD but no model")
    return found


@pytest.mark.parametrize(
    ("model", "file_name"),
    [
        pytest.param(KeyResultSpecWire, "okr.dev_keyresults.yaml", id="KeyResult"),
        pytest.param(ObjectiveSpecWire, "okr.dev_objectives.yaml", id="Objective"),
        pytest.param(CheckInSpecWire, "okr.dev_checkins.yaml", id="CheckIn"),
        pytest.param(
            PrometheusSourceSpecWire, "okr.dev_prometheussources.yaml", id="PrometheusSource"
        ),
        pytest.param(
            PrometheusSourceSpecWire,
            "okr.dev_clusterprometheussources.yaml",
            id="ClusterPrometheusSource",
        ),
    ],
)
def test_model_and_crd_agree(model: type[BaseModel], file_name: str) -> None:
    assert differences(model, spec_schema(file_name), "spec") == []


def test_the_comparison_notices_a_difference() -> None:
    """Guard against a parity check that passes vacuously."""
    schema = spec_schema("okr.dev_keyresults.yaml")
    schema["properties"]["stretchTarget"] = {"type": "number"}
    del schema["properties"]["unit"]
    schema["properties"]["interval"]["default"] = "5m"
    schema["properties"]["onEmpty"]["enum"] = ["NoData"]
    schema["properties"]["health"]["properties"]["atRiskLag"]["default"] = 0.2
    schema["required"] = ["objectiveRef", "query"]
    assert differences(KeyResultSpecWire, schema, "spec") == [
        "spec.unit is in the model only",
        "spec.stretchTarget is in the CRD only",
        "spec requires ['objectiveRef', 'target'] in the model, "
        "['objectiveRef', 'query'] in the CRD",
        "spec.health.atRiskLag defaults to 0.1 in the model, 0.2 in the CRD",
        "spec.interval defaults to '1m' in the model, '5m' in the CRD",
        "spec.onEmpty allows ['NoData', 'Zero'] in the model, ['NoData'] in the CRD",
    ]


def test_source_crds_share_one_spec() -> None:
    namespaced = spec_schema("okr.dev_prometheussources.yaml")
    cluster = spec_schema("okr.dev_clusterprometheussources.yaml")
    # Descriptions differ on purpose: where each kind reads its Secrets.
    assert _strip_descriptions(namespaced) == _strip_descriptions(cluster)


def _strip_descriptions(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip_descriptions(v) for k, v in node.items() if k != "description"}
    if isinstance(node, list):
        return [_strip_descriptions(v) for v in node]
    return node


def _undescribed(schema: dict[str, Any], path: str) -> list[str]:
    """Paths of properties without a description (``kubectl explain`` would show nothing)."""
    missing: list[str] = []
    for name, prop in schema.get("properties", {}).items():
        where = f"{path}.{name}"
        if name != "metadata" and not prop.get("description", "").strip():
            missing.append(where)
        missing += _undescribed(prop, where)
        if isinstance(prop.get("items"), dict):
            missing += _undescribed(prop["items"], f"{where}[]")
    return missing


@pytest.mark.parametrize("path", sorted(CRDS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_field_has_a_description(path: Path) -> None:
    crd = yaml.safe_load(path.read_text())
    (version,) = crd["spec"]["versions"]
    assert _undescribed(version["schema"]["openAPIV3Schema"], crd["spec"]["names"]["kind"]) == []
