"""Reading OKR objects and their Secrets from a cluster for the CLI (kubectl okr, okr preview).

The operator reads through kopf's watches; people's commands read once with the
official client and the user's kubeconfig, the way kubectl does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException

from okr_operator.domain.model import GROUP, VERSION


class NoClusterError(RuntimeError):
    """No usable kubeconfig (or in-cluster credentials); the message says what was tried."""


@dataclass(frozen=True)
class Cluster:
    """An API client, the namespace and the user name of the kubeconfig's current context.

    ``user`` is the context's user entry (what ``kubectl config view --minify``
    shows under ``users``), empty in a pod: a name for people, never a credential.
    """

    api: client.ApiClient
    namespace: str
    user: str = ""

    def list(self, plural: str, namespace: str | None) -> list[dict[str, Any]]:
        """Every object of ``okr.dev/<plural>`` in ``namespace`` (None: all namespaces)."""
        custom = client.CustomObjectsApi(self.api)
        if namespace is None:
            found = custom.list_cluster_custom_object(GROUP, VERSION, plural)
        else:
            found = custom.list_namespaced_custom_object(GROUP, VERSION, namespace, plural)
        # The client declares ``object``; custom objects come back as the JSON list.
        return list(cast("dict[str, Any]", found).get("items", []))

    def create(self, plural: str, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create one ``okr.dev/<plural>`` object; the API server's answer."""
        custom = client.CustomObjectsApi(self.api)
        created = custom.create_namespaced_custom_object(GROUP, VERSION, namespace, plural, body)
        return cast("dict[str, Any]", created)


def connect(kubeconfig: str | None = None, context: str | None = None) -> Cluster:
    """The kubeconfig (``--kubeconfig``, ``KUBECONFIG``, ``~/.kube/config``), else in-cluster."""
    # The kubernetes client reads KUBECONFIG once, when it is imported; kubectl reads
    # it on every call, and so do we, so a changed environment is never ignored.
    kubeconfig = kubeconfig or os.environ.get("KUBECONFIG") or None
    try:
        contexts, active = config.list_kube_config_contexts(config_file=kubeconfig)  # type: ignore[no-untyped-call]
        chosen = (
            next((c for c in contexts if c.get("name") == context), active) if context else active
        )
        namespace = str((chosen or {}).get("context", {}).get("namespace") or "default")
        user = str((chosen or {}).get("context", {}).get("user") or "")
        api = config.new_client_from_config(config_file=kubeconfig, context=context)  # type: ignore[no-untyped-call]
        return Cluster(api=api, namespace=namespace, user=user)
    except (ConfigException, OSError) as kube_error:
        try:
            config.load_incluster_config()  # type: ignore[no-untyped-call]
        except ConfigException:
            where = kubeconfig or "KUBECONFIG or ~/.kube/config"
            raise NoClusterError(f"no cluster to read from: {where}: {kube_error}") from None
        namespace_file = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
        namespace = namespace_file.read_text().strip() if namespace_file.exists() else "default"
        return Cluster(api=client.ApiClient(), namespace=namespace)
