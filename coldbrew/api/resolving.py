"""Pure traffic resolution: from ``spec.traffic`` to concrete revisions and host tables.

Like Knative's Route controller, a route is programmed only when every target
resolves to a ready revision; otherwise :class:`RouteResult` is not ready,
carries no targets, and the caller keeps the previously programmed table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .model import Service

TRUE, FALSE, UNKNOWN = "True", "False", "Unknown"
REVISION_MISSING = "RevisionMissing"


@dataclass(frozen=True, slots=True)
class RevisionState:
    """What the controller knows about a revision.

    ``ready``: the revision became Ready (and stays so while scaled to zero).
    ``failure``: ``(reason, message)`` when it failed for good (e.g. the
    container exits before becoming ready), the shape of the runtime's
    ``RevisionPods.failure``. ``progress``: ``(reason, message)`` of a revision still
    deploying (e.g. ``Pulling`` its image), shown instead of ``Deploying``.
    """

    ready: bool
    failure: tuple[str, str] | None = None
    progress: tuple[str, str] | None = None

    @property
    def failed(self) -> bool:
        """Not ready and a failure was recorded."""
        return not self.ready and self.failure is not None

    @property
    def failure_reason(self) -> str:
        """The failure's reason ("" if none)."""
        return self.failure[0] if self.failure else ""

    @property
    def failure_message(self) -> str:
        """The failure's message ("" if none)."""
        return self.failure[1] if self.failure else ""


@dataclass(frozen=True, slots=True)
class ResolvedTarget:
    """A traffic entry bound to a concrete revision; ``url`` is set for tagged entries."""

    revision_name: str
    percent: int
    tag: str | None
    latest_revision: bool
    url: str | None


@dataclass(frozen=True, slots=True)
class RouteResult:
    """Outcome of :func:`resolve_traffic`. ``status`` is "True", "False" or "Unknown"."""

    ready: bool
    reason: str
    message: str
    targets: tuple[ResolvedTarget, ...]
    status: str
    name: str
    namespace: str
    domain: str
    # Tag -> the tag host's split while a gradual rollout moves it (coldbrew.api.rolling).
    tag_splits: tuple[tuple[str, tuple[tuple[str, int], ...]], ...] = ()

    @property
    def host(self) -> str:
        """The main host ``{name}.{namespace}.{domain}`` (lower-case)."""
        return f"{self.name}.{self.namespace}.{self.domain}".lower()

    @property
    def url(self) -> str:
        """``http://{name}.{namespace}.{domain}``."""
        return f"http://{self.host}"

    def hosts(
        self, namespace: str | None = None, name: str | None = None
    ) -> dict[str, list[tuple[str, int]]]:
        """Gateway table ``host -> [(revision name, percent)]``.

        The main host gets the merged weights of all entries with percent > 0
        (a revision listed twice gets the sum); each tag host
        ``{tag}-{name}.{namespace}.{domain}`` gets ``[(revision, 100)]``. Empty
        when the route is not ready. Hosts are lower-case.
        """
        namespace = namespace or self.namespace
        name = name or self.name
        if not self.targets:
            return {}
        weights: dict[str, int] = {}
        for target in self.targets:
            if target.percent > 0:
                weights[target.revision_name] = (
                    weights.get(target.revision_name, 0) + target.percent
                )
        table = {f"{name}.{namespace}.{self.domain}".lower(): list(weights.items())}
        splits = dict(self.tag_splits)
        for target in self.targets:
            if target.tag is not None:
                host = f"{target.tag}-{name}.{namespace}.{self.domain}".lower()
                table[host] = list(splits.get(target.tag, [(target.revision_name, 100)]))
        return table

    def gateway_routes(self) -> dict[str, list[tuple[str, int]]]:
        """:meth:`hosts` keyed for ``Gateway.set_routes``: ``"{namespace}/{revision}"``."""
        return {
            host: [(f"{self.namespace}/{rev}", pct) for rev, pct in entries]
            for host, entries in self.hosts().items()
        }


def resolve_traffic(
    service: Service,
    revisions: Mapping[str, RevisionState],
    latest_created: str | None,
    latest_ready: str | None,
    domain: str,
) -> RouteResult:
    """Bind the service's traffic entries to revisions.

    ``traffic`` None means 100% to ``latest_ready``; ``latestRevision: true``
    entries resolve to ``latest_ready``; ``revisionName`` entries must name a
    known, ready revision. Not ready results use Knative's reason
    ``RevisionMissing`` with its messages (status False for missing/failed
    targets, Unknown while waiting).
    """
    name, namespace = service.name, service.namespace

    def result(
        status: str, message: str = "", targets: tuple[ResolvedTarget, ...] = ()
    ) -> RouteResult:
        reason = "" if status == TRUE else REVISION_MISSING
        return RouteResult(
            status == TRUE, reason, message, targets, status, name, namespace, domain
        )

    entries = service.effective_traffic()
    problems: list[tuple[str, str]] = []  # (status, message), worst first after sorting
    resolved: list[ResolvedTarget] = []
    for entry in entries:
        if entry.latest_revision:
            if latest_ready is None:
                created = revisions.get(latest_created) if latest_created else None
                if created is not None and created.failed:
                    problems.append(
                        (FALSE, f'Configuration "{name}" does not have any ready Revision.')
                    )
                else:
                    problems.append(
                        (
                            UNKNOWN,
                            f'Configuration "{name}" is waiting for a Revision to become ready.',
                        )
                    )
                continue
            revision = latest_ready
        else:
            revision = entry.revision_name or ""
            state = revisions.get(revision)
            if state is None:
                problems.append((FALSE, f'Revision "{revision}" referenced in traffic not found.'))
                continue
            if not state.ready:
                if state.failed:
                    problems.append((FALSE, f'Revision "{revision}" failed to become ready.'))
                else:
                    problems.append((UNKNOWN, f'Revision "{revision}" is not yet ready.'))
                continue
        url = None
        if entry.tag is not None:
            url = f"http://{entry.tag}-{name}.{namespace}.{domain}".lower()
        resolved.append(
            ResolvedTarget(revision, entry.percent, entry.tag, entry.latest_revision, url)
        )
    if problems:
        missing = [p for p in problems if "not found" in p[1]]
        failed = [p for p in problems if p[0] == FALSE]
        status, message = (missing or failed or problems)[0]
        return result(status, message)
    return result(TRUE, targets=tuple(resolved))
