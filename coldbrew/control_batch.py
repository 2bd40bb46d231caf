"""``POST /apis/coldbrew.dev/v1/applies``: many Services applied in one request.

``coldbrew apply -f`` sends the Services of a file in batches of these rather than one
PUT each. The body is a list, ``{"items": [manifest, ...]}``; they are applied in order in
one store transaction (one durable write), each in its own savepoint, so a refused one
refuses only itself. The answer (200) has one entry per item, in order:
``{"result": "created"|"configured"|"unchanged"}`` or ``{"code": 400|422, "reason": ...,
"message": ..., "field": ...}`` -- what its own PUT would have said. A failed write
(a full disk) applies none of them: 500, as a PUT's.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from coldbrew.api import ValidationError
from coldbrew.control_http import status_error
from coldbrew.controlling import Controller
from coldbrew.storing import StoreError

APPLIES = "/apis/coldbrew.dev/v1/applies"
CONTROLLER = web.AppKey("batch_controller", Controller)


def _refusal(item: Any, index: int) -> dict[str, Any] | None:
    """Why item ``index`` cannot be applied before validation (None: it can)."""
    where = f"items[{index}]"
    if not isinstance(item, dict):
        return {"code": 400, "reason": "BadRequest", "message": f"{where}: expected an object"}
    if item.get("kind", "Service") != "Service":
        why = f"{where}.kind: only Services are applied in batches, not {item.get('kind')!r}"
        return {"code": 400, "reason": "BadRequest", "message": why}
    metadata = item.setdefault("metadata", {})
    if not isinstance(metadata, dict):
        return {"code": 422, "reason": "Invalid", "message": "expected a mapping: metadata",
                "field": "metadata"}  # fmt: skip
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        why = "error: resource name may not be empty: metadata.name"
        return {"code": 422, "reason": "Invalid", "message": why, "field": "metadata.name"}
    metadata.setdefault("namespace", "default")
    return None


async def post_applies(request: web.Request) -> web.Response:
    try:
        body = json.loads(await request.read())
    except ValueError as exc:
        return status_error(400, "BadRequest", f"body is not JSON: {exc}")
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return status_error(400, "BadRequest", "items: expected a list of Service manifests")
    answers: list[dict[str, Any] | None] = [_refusal(item, i) for i, item in enumerate(items)]
    todo = [i for i, answer in enumerate(answers) if answer is None]
    try:
        outcomes = request.app[CONTROLLER].apply_many([items[i] for i in todo])
    except StoreError as exc:  # not saved, and none applied either
        return status_error(500, "InternalError", str(exc))
    for i, outcome in zip(todo, outcomes, strict=True):
        if isinstance(outcome, ValidationError):
            answers[i] = {"code": 422, "reason": "Invalid", "message": str(outcome),
                          "field": outcome.field}  # fmt: skip
        else:
            answers[i] = {"result": outcome}
    return web.json_response({"items": answers})


def add_batch_routes(app: web.Application, controller: Controller) -> None:
    app[CONTROLLER] = controller
    app.router.add_post(APPLIES, post_applies)
