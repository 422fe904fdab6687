"""The OKR metrics: every number of spec and status on /metrics, for Grafana and Alertmanager.

``exposition`` renders one object's lines (pure), ``observer`` keeps them per
object and implements the engine's Observer port, ``server`` serves /metrics.
"""

from okr_operator.adapters.metrics.exposition import user_labels
from okr_operator.adapters.metrics.observer import OkrMetrics, optional_families
from okr_operator.adapters.metrics.server import MetricsServer

__all__ = ["MetricsServer", "OkrMetrics", "optional_families", "user_labels"]
