"""A small in-process Kubernetes API emulator (aiohttp) for the cluster controller's tests.

Why not kmock's ``KubernetesEmulator``: it was tried (kmock 0.8) and falls short of what the
controller relies on: it stamps no ``resourceVersion``/``uid``/``generation``, has no status
or ``/scale`` subresource semantics (``/scale`` is the whole Deployment), ignores label
selectors, serves kubernetes-asyncio's ``?watch=True`` as a plain list, and cannot replay a
watch from a resourceVersion or answer 410 Gone. Patching those in meant overriding most of
its private request handling, so this module is a small emulator of its own.

What is emulated (and only this):

* generic ``/apis/{group}/{version}[/namespaces/{ns}]/{plural}[/{name}[/{sub}]]`` paths for
  any resource (``serving.knative.dev/v1`` services and revisions, ``apps/v1`` deployments,
  ``coordination.k8s.io/v1`` leases) and the core group's ``/api/v1/...`` (pods);
* list (with ``labelSelector`` equality terms ``k=v``, ``k==v``, ``k``), get, create (409
  AlreadyExists), replace (409 Conflict on a stale ``metadata.resourceVersion``), JSON merge
  patch (RFC 7386), delete with cascading deletion of dependents by ``ownerReferences`` uid
  (the garbage collector, done synchronously);
* a global, increasing ``resourceVersion``, ``uid``, ``creationTimestamp`` and
  ``metadata.generation`` (bumped when ``spec`` changes);
* the ``status`` subresource (writes to the main resource keep the stored status; writes
  to ``/status`` change only the status) and ``/scale`` (autoscaling/v1 Scale of
  ``spec.replicas``);
* watch streams (``watch=true`` in any spelling) from a ``resourceVersion``: events after it
  are replayed, then new ones streamed; ``timeoutSeconds`` ends the stream;
  :meth:`Emulator.compact` forgets history so a resume from an older version gets an
  ``ERROR`` event with a 410 ``Status`` (as the real API server sends it), and
  :meth:`Emulator.drop_watches` cuts every open stream (a disconnect);
* fault injection: :meth:`Emulator.fail_next` answers the next matching request with an error;
* what the real ``kubectl`` (v1.32) needs (:mod:`.kubectl`, with :mod:`.discovery`,
  :mod:`.tables`, :mod:`.patching`):
  legacy discovery (``/api``, ``/apis``, ``/api/v1``, ``/apis/{group}/{version}``; the
  custom resources, short names and categories from the chart's CRDs), ``/version``,
  ``/openapi/v3`` documents declaring the ``fieldValidation`` parameter on every PATCH
  (so kubectl leaves field validation to the server), the ``Table`` form from the CRDs'
  ``additionalPrinterColumns`` and the built-in columns of pods and services, JSON patch,
  strategic merge patch for built-in kinds (415 for custom resources, as the API server),
  ``fieldValidation=Strict|Warn|Ignore`` against the CRDs' structural schemas (unknown
  fields refused, or warned about in ``Warning`` headers, and pruned), and a core
  Service's defaults (type, cluster IP, nodePorts). kubectl's client-side apply needs
  nothing more: it writes the ``last-applied-configuration`` annotation itself.

Not emulated: admission, defaulting of pod templates, field selectors, bookmarks,
authentication, aggregated discovery (kubectl falls back to the legacy form), OpenAPI
schemas (kubectl computes strategic merge patches from its built-in types; ``kubectl
explain`` has nothing to show), server-side apply (``application/apply-patch+yaml``),
field validation of built-in kinds (no schemas for them) and of writes that do not ask for
it (the controller's own writes are stored as sent, unpruned), duplicate-field detection.

There is no kubelet or deployment controller in the API server:
tests write Deployment status and Pods themselves (:meth:`Store.put_status`,
:meth:`Store.put`) or start :class:`.kubelet.Kubelet`, which runs each Deployment's pods
as local sample-app processes.
"""

from .serving import Emulator
from .storing import Store, merge_patch

__all__ = ["Emulator", "Store", "merge_patch"]
