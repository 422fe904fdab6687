"""The fault tests run operators of their own against the bench, as e2e tests do."""

from __future__ import annotations

from tests.e2e.conftest import admin_kubeconfig, kube, operator_kubeconfig, prometheus

__all__ = ["admin_kubeconfig", "kube", "operator_kubeconfig", "prometheus"]
