"""What a pod process runs: its argv and its environment."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from coldbrew.runtime.images import ImageMap
from coldbrew.runtime.specs import PodTemplate

# The directory holding the ``coldbrew`` package, so ``python -m coldbrew.sample`` works in pods
# even when coldbrew is not installed (only on the runtime's own sys.path).
COLDBREW_ROOT = str(Path(__file__).resolve().parents[2])
BASE_ENV_KEYS = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV", "TZ")
_VAR = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def image_missing_message(image: str) -> str:
    return (
        f'Back-off pulling image "{image}": no local mapping for this image; '
        "add it to the --images map"
    )


def resolve_argv(
    template: PodTemplate, images: ImageMap, python: str
) -> tuple[tuple[str, ...] | None, str | None]:
    """(argv, None) to run the pod's container, or (None, ImagePullBackOff message).

    ``command`` (+ ``args``) runs as given; ``args`` alone are appended to the image's argv.
    A first word ``python``/``python3`` means the runtime's interpreter.
    """
    c = template.container
    if c.command:
        argv: tuple[str, ...] = c.command + c.args
    else:
        mapped = images.resolve(c.image)
        if mapped is None:
            return None, image_missing_message(c.image)
        argv = mapped + c.args
    if argv[0] in ("python", "python3"):
        argv = (python, *argv[1:])
    return argv, None


def expand(argv: tuple[str, ...], env: Mapping[str, str]) -> list[str]:
    """Kubernetes-style ``$(VAR)`` references in command/args; ``$$`` escapes a ``$``."""

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))

    return [_VAR.sub(sub, a) for a in argv]


def pod_env(
    template: PodTemplate, port: int, own: Mapping[str, str] | None = None
) -> dict[str, str]:
    """A clean base + the container's env + Knative's K_* variables and PORT.

    PORT is always the port the runtime chose for this pod, even when the container declares a
    containerPort: Knative sets PORT to the containerPort, but locally many pods share one host.
    """
    env = {k: os.environ[k] for k in BASE_ENV_KEYS if k in os.environ}
    env.setdefault("PATH", os.defpath)
    env.setdefault("LANG", "C.UTF-8")
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = COLDBREW_ROOT
    env.update(template.container.env if own is None else own)  # own: resolved references
    env.update(
        K_SERVICE=template.service,
        K_REVISION=template.revision,
        K_CONFIGURATION=template.configuration,
        PORT=str(port),
    )
    return env
