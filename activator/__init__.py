"""Activator: holds requests for revisions that cannot take them yet."""

from activator.holding import Holder

__all__ = ["Holder"]
