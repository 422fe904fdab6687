"""okr-operator: OKRs as Kubernetes resources, measured by Prometheus."""

__version__ = "0.1.0"
