"""kubeconform JSON schemas generated from our CRDs, and a runner.

kubeconform validates custom resources only against JSON schemas it is given, and
its ``-strict`` flag rejects unknown fields only where a schema says
``additionalProperties: false``. CRD schemas leave that implicit (the API server
prunes unknown fields), so the conversion adds it to every object with declared
properties that does not preserve unknown fields, the way kubeconform's own
openapi2jsonschema does for its strict schema sets. CEL rules
(``x-kubernetes-validations``) cannot be expressed in JSON Schema: the server-side
dry run checks those.
"""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.support.helm import require_tool

SCHEMA_FILE_TEMPLATE = "{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"


def _strict(node: Any) -> Any:
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _strict(value) for key, value in node.items()}
    if out.pop("x-kubernetes-int-or-string", False):
        out.pop("type", None)
        out["oneOf"] = [{"type": "string"}, {"type": "integer"}]
    if out.pop("nullable", False) and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    preserve = out.get("x-kubernetes-preserve-unknown-fields", False)
    if "properties" in out and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
    return out


def crd_json_schemas(crd_files: Iterable[Path], out_dir: Path) -> list[Path]:
    """Write ``<kind>_<version>.json`` for every served version of every CRD."""
    written: list[Path] = []
    out_dir.mkdir(parents=True, exist_ok=True)
    for crd_file in crd_files:
        crd = yaml.safe_load(crd_file.read_text(encoding="utf-8"))
        kind = crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schema = _strict(copy.deepcopy(version["schema"]["openAPIV3Schema"]))
            schema["$schema"] = "http://json-schema.org/draft-07/schema#"
            path = out_dir / f"{kind.lower()}_{version['name']}.json"
            path.write_text(json.dumps(schema, indent=2, sort_keys=True), encoding="utf-8")
            written.append(path)
    return written


@dataclass(frozen=True)
class Resource:
    """One kubeconform verdict."""

    kind: str
    name: str
    status: str  # statusValid, statusInvalid, statusError, statusSkipped
    message: str


def kubeconform(files: Iterable[Path], schema_dir: Path) -> list[Resource]:
    """Run ``kubeconform -strict`` with only ``schema_dir`` as schema source.

    Kinds without a schema there come back as statusSkipped, never as errors, so the
    caller decides which skips are acceptable.
    """
    done = subprocess.run(
        [
            str(require_tool("kubeconform")),
            "-strict",
            "-ignore-missing-schemas",
            "-output",
            "json",
            "-verbose",
            "-schema-location",
            str(schema_dir / SCHEMA_FILE_TEMPLATE),
            *(str(path) for path in files),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = json.loads(done.stdout)
    return [
        Resource(r["kind"], r["name"], r["status"], r.get("msg", "")) for r in report["resources"]
    ]
