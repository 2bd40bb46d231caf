"""``coldbrew get events [-n NS | -A] [-w]``: kubectl's event table, and following it.

``-w`` polls the control API once a second with the cursor of the previous answer
(``?after=<metadata.resourceVersion>``) and prints each event created or repeated since,
as ``kubectl get events -w`` prints each change.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from coldbrew.cli.printing import age

HEADER = ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]


def event_row(ev: dict[str, Any], namespaced: bool, now: float | None = None) -> list[str]:
    ref = ev.get("involvedObject", {})
    row = [
        age(ev.get("lastTimestamp"), now),
        str(ev.get("type", "")),
        str(ev.get("reason", "")),
        f"{str(ref.get('kind', '')).lower()}/{ref.get('name', '')}",
        str(ev.get("message", "")),
    ]
    return row if namespaced else [str(ev.get("metadata", {}).get("namespace", "")), *row]


def events_table(items: list[dict[str, Any]], namespaced: bool = True) -> str:
    header = HEADER if namespaced else ["NAMESPACE", *HEADER]
    rows = [header] + [event_row(e, namespaced) for e in items]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header) - 1)]
    return "\n".join(
        "   ".join([*(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)), r[-1]]).rstrip()
        for r in rows
    )


def follow(
    fetch: Callable[[int], dict[str, Any]],
    cursor: int,
    *,
    interval: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[dict[str, Any]]:
    """Events changed after ``cursor``, polled every ``interval`` s, forever."""
    while True:
        sleep(interval)
        answer = fetch(cursor)
        yield from answer["items"]
        cursor = int(answer["metadata"]["resourceVersion"])
