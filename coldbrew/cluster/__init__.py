"""Cluster mode: the same Knative Service logic as local mode, against Kubernetes.

from coldbrew.cluster import run_controller, Settings
await run_controller(settings=Settings(domain="example.com"))
"""

from .controller.loop import ClusterController, run_controller
from .controller.reconciling import Settings, reconcile

__all__ = ["ClusterController", "Settings", "reconcile", "run_controller"]
