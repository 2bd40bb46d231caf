"""Read-only JSON values: what a stored record's manifest and labels are made of.

:class:`FrozenDict` and :class:`FrozenList` subclass ``dict`` and ``list`` so that
everything reading JSON-shaped data (``isinstance(x, dict)``, ``json.dumps``,
comparisons with plain dicts and lists) works unchanged, while every method that
would change them raises ``TypeError``. A stored record built from them can be
handed to any number of callers without copying and without one caller changing
what another sees. ``dict(value)`` or ``list(value)`` gives a mutable shallow copy.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn


def _refuse(self: object, *args: Any, **kwargs: Any) -> NoReturn:
    raise TypeError(
        f"{type(self).__name__} is read-only: stored records change only by "
        "putting a new record inside a transaction"
    )


class FrozenDict(dict[str, Any]):
    """A ``dict`` that cannot be changed after it is made."""

    __slots__ = ()
    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self) -> tuple[type[FrozenDict], tuple[dict[str, Any]]]:
        return FrozenDict, (dict(self),)  # copy and pickle without __setitem__

    def __copy__(self) -> FrozenDict:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenDict:
        return self


class FrozenList(list[Any]):
    """A ``list`` that cannot be changed after it is made."""

    __slots__ = ()
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = clear = extend = insert = pop = remove = reverse = sort = _refuse

    def __reduce__(self) -> tuple[type[FrozenList], tuple[list[Any]]]:
        return FrozenList, (list(self),)

    def __copy__(self) -> FrozenList:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenList:
        return self


def freeze(value: Any) -> Any:
    """``value`` with every dict and list in it replaced by a read-only one (no aliasing).

    Already-frozen parts are reused as they are: nothing can change them.
    """
    if isinstance(value, FrozenDict | FrozenList):
        return value
    if isinstance(value, dict):
        return FrozenDict({_shared(k): freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return FrozenList(freeze(v) for v in value)
    return _shared(value)


def _shared(value: Any) -> Any:
    """A short string as one shared copy (``sys.intern``): the keys and most values of
    10,000 manifests are the same few strings, kept once rather than once per manifest."""
    if type(value) is str and len(value) <= SHARED_LENGTH:
        return sys.intern(value)
    return value


SHARED_LENGTH = 64  # longer strings are rarely repeated


def thaw(value: Any) -> Any:
    """A mutable deep copy of ``value``: plain dicts and lists (to edit a stored manifest)."""
    if isinstance(value, dict):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, list):
        return [thaw(v) for v in value]
    return value
