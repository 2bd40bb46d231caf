"""The container runtime: pods as OCI containers on Docker or Podman (Docker Engine API).

``choose_engine("auto"|"process"|"docker")`` finds the engine ``coldbrew serve --runtime``
asks for; :class:`ContainerRuntime` is a :class:`coldbrew.runtime.PodRuntime` running pods on
it. Differences from the process runtime: ``$PORT`` inside the container is the declared
containerPort (else 8080), published on 127.0.0.1 at a free host port (the pod's endpoint);
images are pulled per ``imagePullPolicy``; limits are the engine's.
"""

from coldbrew.runtime.containers.engine import Engine, EngineError, connect, detect
from coldbrew.runtime.containers.runtime import ContainerRuntime
from coldbrew.runtime.containers.selecting import RUNTIMES, choose_engine

__all__ = [
    "RUNTIMES",
    "ContainerRuntime",
    "Engine",
    "EngineError",
    "choose_engine",
    "connect",
    "detect",
]
