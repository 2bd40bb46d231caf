"""Bundled sample app: a small, fast HTTP/1.1 server (``python -m coldbrew.sample``).

It stands in for Knative's ``helloworld-go`` and ``autoscale-go`` samples.
"""

from coldbrew.sample.app import main, serve

__all__ = ["main", "serve"]
