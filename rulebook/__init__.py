"""Serving rules, each stated once, that local and cluster mode both carry out.

Pure functions of plain values: no I/O, no asyncio, nothing from ``coldbrew``. Each rule's
docstring names its Knative or ASK source.

- :mod:`rulebook.ask`: ASK's reserve-instance label and ECI annotation names, and how a
  reserve pod is annotated (the one light module both modes import for those names).
- :mod:`rulebook.scale_bounds`: min-, max- and initial-scale (Knative ``ScaleBounds``,
  ``GetInitialScale``, the KPA scaler's floor).
- :mod:`rulebook.reserve`: which revisions have a reserve, its size, the hand-over
  between standard and reserve pods, and which pods take the traffic.
- :mod:`rulebook.retirement`: which revisions the KPA owns and which are retired.
- :mod:`rulebook.rollout`: gradual rollout of a new latest revision (Knative's rollout
  orchestrator: 1 %, then equal steps over the duration).
- :mod:`rulebook.revision_settings`: a revision template -> the gateway's ``RevisionSettings``.
"""
