"""The control API's bearer token, required once it listens beyond loopback.

On loopback (the default) the control API trusts its callers, as the local machine's users
may run the CLI anyway. Bound elsewhere (``serve --admin-host 0.0.0.0``), every request but
``/healthz`` and ``/readyz`` must carry ``Authorization: Bearer <token>`` (RFC 6750), or,
for clients that cannot set a header (a browser's first visit, a websocket), the
``access_token`` query parameter. The token is generated once, kept in
``<state-dir>/admin-token`` (mode 0600) and read from there, or from ``COLDBREW_TOKEN``,
by the CLI.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import platformdirs
from aiohttp import web

from gateway.admin import HEALTH_PATH, READY_PATH, Handler, Middleware

TOKEN_FILE = "admin-token"
TOKEN_ENV = "COLDBREW_TOKEN"
OPEN_PATHS = frozenset({HEALTH_PATH, READY_PATH})


def is_loopback(host: str) -> bool:
    """``host`` (an address or ``localhost``) only ever reaches this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name may resolve anywhere


def load_or_create_token(state_dir: Path) -> str:
    """The token in ``state_dir/admin-token``, written (0600) the first time."""
    path = state_dir / TOKEN_FILE
    try:
        token = path.read_text().strip()
    except FileNotFoundError:
        token = ""
    if token:
        os.chmod(path, 0o600)
        return token
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token


def bearer_middleware(token: str) -> Middleware:
    """An aiohttp middleware refusing, with 401, a request without ``token``."""
    expected = token.encode()

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in OPEN_PATHS or _presented(request, expected):
            return await handler(request)
        raise web.HTTPUnauthorized(
            text="the control API needs a bearer token (see <state-dir>/admin-token)\n",
            headers={"WWW-Authenticate": 'Bearer realm="coldbrew"'},
        )

    return check


def _presented(request: web.Request, expected: bytes) -> bool:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        value = request.query.get("access_token", "")
    return hmac.compare_digest(value.strip().encode(), expected)


def with_token(url: str, token: str | None) -> str:
    """``url`` with ``access_token`` added to its query (for websocket clients)."""
    if not token:
        return url
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query), ("access_token", token)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def client_token(state_dir: Path | None = None) -> str | None:
    """The token a CLI sends: ``$COLDBREW_TOKEN``, else the token file of ``state_dir``
    (by default serve's default state dir), else none."""
    token = os.environ.get(TOKEN_ENV, "").strip()
    if token:
        return token
    folder = state_dir or Path(platformdirs.user_state_dir("coldbrew"))
    try:
        return (folder / TOKEN_FILE).read_text().strip() or None
    except OSError:
        return None
