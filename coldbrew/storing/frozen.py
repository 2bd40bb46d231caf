"""Read-only JSON values: what a stored record's manifest and labels are made of.

:class:`FrozenDict` and :class:`FrozenList` subclass ``dict`` and ``list`` so that
everything reading JSON-shaped data (``isinstance(x, dict)``, ``json.dumps``,
comparisons with plain dicts and lists) works unchanged, while every method that
would change them raises ``TypeError``. A stored record built from them can be
handed to any number of callers without copying and without one caller changing
what another sees. ``dict(value)`` or ``list(value)`` gives a mutable shallow copy.
"""

from __future__ import annotations

import json
import sys
from collections.abc import ItemsView, Iterator, KeysView, Mapping, ValuesView
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


_EMPTY = FrozenDict()


def freeze(value: Any) -> Any:
    """``value`` with every dict and list in it replaced by a read-only one (no aliasing).

    Already-frozen parts are reused as they are: nothing can change them.
    """
    if isinstance(value, FrozenDict | FrozenList | JsonManifest):
        return value
    if isinstance(value, dict):
        if not value:
            return _EMPTY  # one for all: every revision's labels are often {}
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


class JsonManifest(Mapping[str, Any]):
    """A read-only manifest kept as its compact JSON text, decoded when it is read.

    What a Service or Revision record holds: at 10,000 services the manifests as
    nested dicts took ~16 MB of the control plane's memory, as text ~4 MB. Each read
    decodes the text afresh into :class:`FrozenDict` and :class:`FrozenList` (changing
    what a read returns raises ``TypeError``, as a frozen manifest always did);
    :func:`thaw` decodes it into plain dicts and lists, the cheap way to parse or edit
    it. Equal manifests compare by their text without decoding.
    """

    __slots__ = ("text",)
    # as a dict's: changing one raises TypeError
    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse

    def __init__(self, text: str) -> None:
        self.text = text

    @classmethod
    def of(cls, value: Any) -> JsonManifest:
        """``value`` (a JSON-shaped mapping) as one; itself if it is one already."""
        if isinstance(value, JsonManifest):
            return value
        if not isinstance(value, Mapping):
            raise TypeError(f"a manifest is a mapping, not {type(value).__name__}")
        return cls(json.dumps(value, separators=(",", ":")))

    def frozen(self) -> FrozenDict:
        """The manifest decoded, read-only."""
        return freeze(json.loads(self.text))  # type: ignore[no-any-return]

    def __getitem__(self, key: str) -> Any:
        return self.frozen()[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.frozen().get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in json.loads(self.text)

    def __iter__(self) -> Iterator[str]:
        return iter(json.loads(self.text))

    def __len__(self) -> int:
        return len(json.loads(self.text))

    def keys(self) -> KeysView[str]:
        return self.frozen().keys()

    def items(self) -> ItemsView[str, Any]:
        return self.frozen().items()

    def values(self) -> ValuesView[Any]:
        return self.frozen().values()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, JsonManifest):
            return self.text == other.text or json.loads(self.text) == json.loads(other.text)
        if isinstance(other, Mapping):
            return bool(json.loads(self.text) == other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # a mapping: equal by value, not hashable

    def __repr__(self) -> str:
        return f"JsonManifest({self.text!r})"

    def __reduce__(self) -> tuple[type[JsonManifest], tuple[str]]:
        return JsonManifest, (self.text,)

    def __copy__(self) -> JsonManifest:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> JsonManifest:
        return self


def thaw(value: Any) -> Any:
    """A mutable deep copy of ``value``: plain dicts and lists (to edit a stored manifest)."""
    if isinstance(value, JsonManifest):
        return json.loads(value.text)
    if isinstance(value, dict):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, list):
        return [thaw(v) for v in value]
    return value
