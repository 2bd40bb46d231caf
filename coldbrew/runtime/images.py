"""Image map: which local command runs a container image.

Nothing is pulled: an image runs only if a pattern maps it to an argv. The bundled patterns map
Knative's helloworld-go and autoscale-go samples to ``python -m coldbrew.sample``. A user file
(``--images``, YAML or JSON) adds patterns, tried first, in file order::

    images:
      "myrepo/app:*": ["python", "app.py", "--port", "$(PORT)"]
      "example.com/me/api*": "python -m api"          # a string is split like a shell would

Patterns are ``fnmatch`` globs matched against the whole image reference and against it without
its registry host (``example.org/me/app:1`` also matches ``me/app:*``). An argv whose first word is
``python`` or ``python3`` runs with the runtime's interpreter. Relative paths in a user map are
resolved by running pods in the map file's directory.
"""

from __future__ import annotations

import fnmatch
import shlex
from collections.abc import Iterable
from pathlib import Path

import yaml

SAMPLE_ARGV: tuple[str, ...] = ("python", "-m", "coldbrew.sample")
BUILTIN_PATTERNS: tuple[str, ...] = (
    "*/knative-sample/helloworld-go*",
    "*/knative-samples/helloworld-go*",
    "*/knative-samples/autoscale-go*",
)


class ImageMapError(ValueError):
    """The image map file is malformed."""


def strip_registry(image: str) -> str:
    first, sep, rest = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return rest
    return image


def _matches(pattern: str, image: str) -> bool:
    candidates = {image, strip_registry(image)}
    patterns = {pattern}
    if pattern.startswith("*/"):
        patterns.add(pattern[2:])  # "*/knative-samples/x*" also matches "knative-samples/x"
    return any(fnmatch.fnmatchcase(c, p) for c in candidates for p in patterns)


class ImageMap:
    def __init__(
        self, entries: Iterable[tuple[str, tuple[str, ...]]] = (), base_dir: Path | None = None
    ) -> None:
        self.entries: tuple[tuple[str, tuple[str, ...]], ...] = tuple(entries) + tuple(
            (p, SAMPLE_ARGV) for p in BUILTIN_PATTERNS
        )
        self.base_dir = base_dir  # working directory of pods run from a user map

    @classmethod
    def load(cls, path: Path | None) -> ImageMap:
        """The built-in map, plus the patterns of the file at ``path`` if given."""
        if path is None:
            return cls()
        path = Path(path)
        try:
            doc = yaml.safe_load(path.read_text())
        except OSError as exc:
            raise ImageMapError(f"{path}: cannot read image map: {exc}") from exc
        except yaml.YAMLError as exc:
            raise ImageMapError(f"{path}: not valid YAML/JSON: {exc}") from exc
        return cls(parse_entries(doc, str(path)), base_dir=path.resolve().parent)

    def resolve(self, image: str) -> tuple[str, ...] | None:
        """The argv that runs ``image``, or None if nothing maps it."""
        for pattern, argv in self.entries:
            if _matches(pattern, image):
                return argv
        return None


def parse_entries(doc: object, where: str = "image map") -> list[tuple[str, tuple[str, ...]]]:
    if doc is None:
        return []
    if not isinstance(doc, dict) or set(doc) - {"images"}:
        raise ImageMapError(
            f'{where}: expected a mapping with a single key "images", '
            'e.g. {"images": {"myrepo/app:*": ["python", "app.py"]}}'
        )
    images = doc.get("images") or {}
    if not isinstance(images, dict):
        raise ImageMapError(f"{where}: images: expected a mapping of image pattern -> command")
    entries = []
    for pattern, command in images.items():
        at = f"{where}: images[{pattern!r}]"
        if not isinstance(pattern, str) or not pattern.strip():
            raise ImageMapError(f"{at}: the image pattern must be a non-empty string")
        if isinstance(command, str):
            try:
                argv = shlex.split(command)
            except ValueError as exc:
                raise ImageMapError(f"{at}: cannot split command {command!r}: {exc}") from exc
        elif isinstance(command, list) and all(isinstance(a, str | int | float) for a in command):
            argv = [str(a) for a in command]
        else:
            raise ImageMapError(f"{at}: expected a list of strings or a command string")
        if not argv:
            raise ImageMapError(f"{at}: the command is empty")
        entries.append((pattern.strip(), tuple(argv)))
    return entries
