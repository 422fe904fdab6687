"""Reading the OKR objects a report needs from the API server (kubeconfig or in-cluster)."""

from __future__ import annotations

from typing import Any

from kubernetes import client

from okr_operator.adapters.kube import load_api_client
from okr_operator.domain.model import GROUP, VERSION
from okr_operator.domain.snapshot import Snapshot
from okr_operator.reporting.objects import snapshot_from_objects


def read_snapshot(namespace: str | None) -> Snapshot:
    """Every KeyResult and Objective in ``namespace`` (every namespace when None).

    Two list calls, whatever the number of objects: reports are read by people
    now and then, and the operator never needs to serve them.
    """
    api = client.CustomObjectsApi(load_api_client())

    def items(plural: str) -> list[dict[str, Any]]:
        if namespace is None:
            listed: Any = api.list_cluster_custom_object(GROUP, VERSION, plural)
        else:
            listed = api.list_namespaced_custom_object(GROUP, VERSION, namespace, plural)
        return list(listed.get("items", []))

    return snapshot_from_objects(items("keyresults"), items("objectives"))
