"""A revision template -> the settings the gateway serves it with.

Source: Knative's revision spec (``timeoutSeconds``, ``containerConcurrency``,
``responseStartTimeoutSeconds``, ``idleTimeoutSeconds``; ``pkg/apis/serving/v1``) as the
activator and queue-proxy enforce them. The activator stays in the path unless the KPA
takes it out (``target-burst-capacity``); ``wake_on_request`` is set while reserve pods
serve (:func:`rulebook.reserve.traffic_endpoints`); ``protocol`` is ``h2c`` for a port named
h2c (Knative: the port name picks HTTP/2 to the container). Both modes build a revision's
:class:`~gateway.settings.RevisionSettings` here and nowhere else.
"""

from __future__ import annotations

from typing import Protocol

from gateway.settings import RevisionSettings


class ServingTemplate(Protocol):
    """The request-path fields of a revision template (``coldbrew.api.RevisionTemplate``)."""

    @property
    def timeout_seconds(self) -> int: ...

    @property
    def container_concurrency(self) -> int: ...

    @property
    def response_start_timeout_seconds(self) -> int | None: ...

    @property
    def idle_timeout_seconds(self) -> int | None: ...

    @property
    def protocol(self) -> str:
        """``"h2c"`` when the container port is named h2c (Knative's rule), else ``"http1"``."""


def revision_settings(
    template: ServingTemplate, *, activator_in_path: bool = True, wake_on_request: bool = False
) -> RevisionSettings:
    """The :class:`RevisionSettings` of a revision with this template."""
    return RevisionSettings(
        timeout_seconds=template.timeout_seconds,
        container_concurrency=template.container_concurrency,
        response_start_timeout_seconds=template.response_start_timeout_seconds,
        idle_timeout_seconds=template.idle_timeout_seconds,
        activator_in_path=activator_in_path,
        wake_on_request=wake_on_request,
        protocol=template.protocol,
    )
