"""``coldbrew autoscaler``: the KPA against a cluster, writing Deployments' ``/scale``."""
