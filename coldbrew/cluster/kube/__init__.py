"""Kubernetes plumbing the cluster components share: access, watches, writes, leases, runner."""
