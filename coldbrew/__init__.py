"""coldbrew: Knative-style serverless serving in Python (the control plane)."""

__version__ = "0.1.0"
