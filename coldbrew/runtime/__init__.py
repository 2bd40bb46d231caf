"""The local pod runtime: each revision's pods are real processes on 127.0.0.1.

Differences from Kubernetes, on purpose:

* ``$PORT`` is a free port the runtime picks per pod (even if the container declares a
  containerPort), since many pods share one host; pods listen on 127.0.0.1.
* Images are not pulled: an :class:`ImageMap` maps image patterns to local commands; an unmapped
  image leaves its pods in ImagePullBackOff.
* Crashed containers restart after 0 s, then 1 s doubling to 30 s (Kubernetes: 10 s to 5 min);
  the back-off resets after 10 s of running.
* New processes are probed every 5 ms until ready, whatever the probe's periodSeconds.
* Reserve pods (ASK reserved instances) are a replica set of their own; cpu/memory are
  enforced with cgroups when the machine allows, else nice/RLIMIT_AS (see ``resources``).
"""

from coldbrew.runtime.images import ImageMap, ImageMapError
from coldbrew.runtime.resources import ResourceEnforcer
from coldbrew.runtime.runtime import PodRuntime
from coldbrew.runtime.specs import (
    ContainerSpec,
    PodInfo,
    PodResources,
    PodTemplate,
    ProbeSpec,
    RevisionPods,
)

__all__ = [
    "ContainerSpec",
    "ImageMap",
    "ImageMapError",
    "PodInfo",
    "PodResources",
    "PodRuntime",
    "PodTemplate",
    "ProbeSpec",
    "ResourceEnforcer",
    "RevisionPods",
]
