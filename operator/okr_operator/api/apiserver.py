"""What kube-apiserver does to an okr.dev object before our rules see it.

``okr validate`` checks files the API server has not seen yet, and the
admission webhook must agree with it, so both apply these first (through
``api.spec.validate_document``). Checked on the bench's kube-apiserver
(tests/unit/api/test_apiserver.py names the cases, tests/integration/test_crds.py
applies them):

- ``metadata.name`` of a custom resource must be a lowercase RFC 1123
  subdomain of at most 253 characters (``Bad_Name``, ``a-``, ``a..b`` and 254
  characters are refused; ``a.b`` and ``1a`` pass), and, as every resource
  name, not ``.`` or ``..`` and without ``/`` or ``%``.
- A field set to ``null`` that the schema does not mark ``nullable`` is
  pruned before validation and defaulting: ``description: null`` is no
  description, ``weight: null`` becomes the default 1. No okr.dev field is
  nullable.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MAX_NAME = 253
_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN = re.compile(rf"{_LABEL}(\.{_LABEL})*")


def name_problem(name: str) -> str | None:
    """Why kube-apiserver refuses ``name`` as a custom resource's name, or None."""
    if name in (".", ".."):
        return f"may not be {name!r}"
    for forbidden in ("/", "%"):
        if forbidden in name:
            return f"may not contain {forbidden!r}, got {name!r}"
    if len(name) > MAX_NAME:
        return f"must be at most {MAX_NAME} characters, got {len(name)}"
    if _SUBDOMAIN.fullmatch(name) is None:
        return (
            "must be a lowercase RFC 1123 subdomain: lower case letters, digits, '-' and '.', "
            f"starting and ending with a letter or digit (such as 'checkout-latency'), got {name!r}"
        )
    return None


def prune_nulls(value: Any) -> Any:
    """``value`` with every ``key: null`` of every mapping in it dropped, as the API server does."""
    if isinstance(value, Mapping):
        return {key: prune_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [prune_nulls(item) for item in value]
    return value
