"""The HTTPS listener's certificates: one context per certificate, chosen by SNI, reloaded.

:class:`TlsFiles` names certificate files only (picklable, passed as paths to gateway
worker processes): a default pair, pairs per host (``coffee.example.org`` or a wildcard
``*.example.org``), and optionally a directory of ``{host}.crt``/``{host}.key`` pairs
(``_wildcard.example.org.crt`` stands for ``*.example.org``). :class:`Certificates`
builds the server context handed to ``create_server``: its ``sni_callback`` switches the
connection to the context of the most specific match (exact host, then the wildcard one
label up, else the default). :meth:`Certificates.reload` rebuilds a context whose files
changed (by mtime) and keeps the old one while the new pair does not load (a
half-written file or a key that does not match yet), so replacing a certificate needs no
restart. Only TLS 1.2 and newer, ECDHE key exchange with AES-GCM or ChaCha20-Poly1305
(TLS 1.3's suites are all AEAD and stay as OpenSSL sets them).
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"
RELOAD_INTERVAL = 2.0  # seconds between mtime polls
WILDCARD_PREFIX = "_wildcard."  # a directory's file name for "*."


@dataclass(frozen=True, slots=True)
class CertPair:
    """A PEM certificate chain file and its private key file."""

    cert: Path
    key: Path

    @classmethod
    def parse(cls, text: str) -> tuple[str, CertPair]:
        """``HOST=CERT:KEY`` (the ``--tls-domain-cert`` form) -> (host, pair)."""
        host, sep, files = text.partition("=")
        cert, sep2, key = files.partition(":")
        if not sep or not sep2 or not host.strip() or not cert or not key:
            raise ValueError(f"expected HOST=CERT:KEY, got {text!r}")
        return host.strip().lower().rstrip("."), cls(Path(cert), Path(key))


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """Where the HTTPS listener's certificates are: file paths only."""

    default: CertPair | None = None
    domains: Mapping[str, CertPair] = field(default_factory=dict)
    directory: Path | None = None

    def pairs(self) -> dict[str, CertPair]:
        """Every per-host pair: the directory's first, then ``domains`` (which win)."""
        found: dict[str, CertPair] = {}
        if self.directory is not None and self.directory.is_dir():
            for cert in sorted(self.directory.glob("*.crt")):
                key = cert.with_suffix(".key")
                if key.is_file():
                    host = cert.stem
                    if host.startswith(WILDCARD_PREFIX):
                        host = "*." + host[len(WILDCARD_PREFIX) :]
                    found[host.lower()] = CertPair(cert, key)
        found.update({host.lower(): pair for host, pair in self.domains.items()})
        return found


def server_context(alpn: Sequence[str]) -> ssl.SSLContext:
    """A server context: TLS 1.2+, ECDHE with AEAD ciphers, no compression, ALPN."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(CIPHERS)
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    ctx.set_alpn_protocols(list(alpn))
    return ctx


def _mtimes(pair: CertPair) -> tuple[float, float] | None:
    try:
        return (os.stat(pair.cert).st_mtime, os.stat(pair.key).st_mtime)
    except OSError:
        return None


def match(host: str, names: Iterable[str]) -> str | None:
    """The most specific of ``names`` for ``host``: itself, else ``*.`` one label up."""
    known = set(names)
    if host in known:
        return host
    _, dot, parent = host.partition(".")
    if dot and f"*.{parent}" in known:
        return f"*.{parent}"
    return None


class Certificates:
    """The SNI-switching server context over a :class:`TlsFiles`, reloaded on change."""

    def __init__(self, files: TlsFiles, alpn: Sequence[str] = ("http/1.1",)) -> None:
        self.files = files
        self.alpn = tuple(alpn)
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._seen: dict[str, tuple[float, float]] = {}
        self._pairs: dict[str, CertPair] = {}
        self._default_name: str | None = None
        self.context = server_context(self.alpn)  # handed to create_server
        self.context.sni_callback = self._pick
        self.reload(strict=True)

    def reload(self, *, strict: bool = False) -> bool:
        """Rebuild the contexts whose files changed; True if any did.

        ``strict``: a pair that does not load raises (at start) instead of being kept old.
        """
        pairs = self.files.pairs()
        if self.files.default is not None:
            pairs[""] = self.files.default
        if not pairs:
            raise ValueError("HTTPS needs a certificate: a default pair or per-domain ones")
        changed = False
        for name in list(self._contexts):
            if name not in pairs:
                del self._contexts[name]
                self._seen.pop(name, None)
                changed = True
        for name, pair in pairs.items():
            stamp = _mtimes(pair)
            if stamp is not None and self._seen.get(name) == stamp and name in self._contexts:
                continue
            try:
                ctx = server_context(self.alpn)
                ctx.load_cert_chain(pair.cert, pair.key)
            except (OSError, ssl.SSLError) as exc:
                if strict:
                    raise ValueError(f"certificate {pair.cert} / key {pair.key}: {exc}") from exc
                log.warning("keeping the old certificate for %r: %s", name or "default", exc)
                continue
            self._contexts[name] = ctx
            if stamp is not None:
                self._seen[name] = stamp
            changed = True
            log.info("loaded certificate %s for %s", pair.cert, name or "the default")
        self._pairs = pairs
        self._default_name = "" if "" in self._contexts else next(iter(sorted(self._contexts)))
        if changed:
            # Clients without SNI (or with an unknown name) get the default's certificate:
            # load it into the listening context too (validated above, so this cannot
            # leave it half-replaced).
            default = pairs[self._default_name]
            self.context.load_cert_chain(default.cert, default.key)
        return changed

    def context_for(self, server_name: str | None) -> ssl.SSLContext:
        """The context serving ``server_name`` (the default's when nothing matches)."""
        if server_name:
            name = match(server_name.lower().rstrip("."), self._contexts)
            if name is not None:
                return self._contexts[name]
        return self._contexts[self._default_name or ""]

    def _pick(self, sslobj: ssl.SSLObject, server_name: str | None, _: ssl.SSLContext) -> None:
        chosen = self.context_for(server_name)
        if chosen is not self.context:
            sslobj.context = chosen

    async def watch(self, interval: float = RELOAD_INTERVAL) -> None:
        """Poll the files' mtimes every ``interval`` seconds and reload what changed."""
        while True:
            await asyncio.sleep(interval)
            try:
                self.reload()
            except ValueError as exc:  # every pair vanished: keep serving the old ones
                log.warning("certificates not reloaded: %s", exc)
