"""The HTTPS listener with real TLS clients: SNI, reload without restart, versions, redirect."""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from coldbrew.local_ca import LocalCA
from gateway import Gateway
from gateway.settings import RevisionSettings
from gateway.tls import CertPair, TlsFiles, match
from tests.gateway.conftest import HOST, KEY, Upstream, raw_request, wait_for

CUSTOM = "shop.example.org"


def client_context(*cas: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    for ca in cas:
        ctx.load_verify_locations(ca)
    return ctx


async def https_get(
    port: int, host: str, ctx: ssl.SSLContext, path: str = "/"
) -> tuple[bytes, x509.Certificate]:
    """One HTTP/1.1 request over TLS with SNI ``host``: (response bytes, served cert)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname=host)
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        async with asyncio.timeout(5):
            data = await reader.read(-1)
    finally:
        writer.close()
    return data, x509.load_der_x509_certificate(der)


def sans(cert: x509.Certificate) -> set[str]:
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    return set(ext.value.get_values_for_type(x509.DNSName))


@pytest.fixture
def cas(tmp_path: Path) -> tuple[LocalCA, LocalCA]:
    """Two CAs: one signs the default (*.default.example.com), one the custom domain."""
    return LocalCA(tmp_path / "main", "example.com"), LocalCA(tmp_path / "org", "example.org")


@pytest.fixture
async def tls_gateway(cas: tuple[LocalCA, LocalCA], upstream: Upstream) -> AsyncIterator[Gateway]:
    main, org = cas
    files = TlsFiles(default=main.pair, domains={"*.example.org": org.pair})
    gw = Gateway(host="127.0.0.1", port=0, https_port=0, tls=files)
    await gw.start()
    gw.set_revision(KEY, [upstream.address], RevisionSettings(timeout_seconds=30))
    gw.set_routes({HOST: [(KEY, 100)], CUSTOM: [(KEY, 100)]}, redirected={CUSTOM})
    yield gw
    await gw.stop(grace=1.0)


async def test_https_proxies_with_forwarded_proto(
    tls_gateway: Gateway, cas: tuple[LocalCA, LocalCA]
) -> None:
    assert tls_gateway.https_port
    data, cert = await https_get(
        tls_gateway.https_port, HOST, client_context(cas[0].ca_cert), "/x?y=1"
    )
    assert data.startswith(b"HTTP/1.1 200 "), data
    assert b'"x-forwarded-proto": "https"' in data
    assert b'"path": "/x?y=1"' in data
    assert "*.default.example.com" in sans(cert)


async def test_sni_picks_the_per_domain_certificate(
    tls_gateway: Gateway, cas: tuple[LocalCA, LocalCA]
) -> None:
    assert tls_gateway.https_port
    main, org = cas
    data, cert = await https_get(tls_gateway.https_port, CUSTOM, client_context(org.ca_cert))
    assert data.startswith(b"HTTP/1.1 200 "), data  # no redirect over TLS
    assert "*.example.org" in sans(cert)
    assert "*.default.example.com" not in sans(cert)
    # The main CA does not vouch for it: a client trusting only that one refuses.
    with pytest.raises(ssl.SSLCertVerificationError):
        await https_get(tls_gateway.https_port, CUSTOM, client_context(main.ca_cert))


async def test_a_client_without_sni_gets_the_default(tls_gateway: Gateway) -> None:
    assert tls_gateway.https_port
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    _, writer = await asyncio.open_connection("127.0.0.1", tls_gateway.https_port, ssl=ctx)
    der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    writer.close()
    assert "*.default.example.com" in sans(x509.load_der_x509_certificate(der))


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion:DeprecationWarning")
async def test_tls_1_1_is_refused(tls_gateway: Gateway) -> None:
    assert tls_gateway.https_port
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    with pytest.raises((ssl.SSLError, ConnectionError)):
        await asyncio.open_connection(
            "127.0.0.1", tls_gateway.https_port, ssl=ctx, server_hostname=HOST
        )
    # ...and the listener keeps serving.
    ok = client_context()
    ok.check_hostname = False
    ok.verify_mode = ssl.CERT_NONE
    data, _ = await https_get(tls_gateway.https_port, HOST, ok)
    assert data.startswith(b"HTTP/1.1 200 ")


async def test_a_replaced_certificate_is_served_without_restart(
    tls_gateway: Gateway, cas: tuple[LocalCA, LocalCA], tmp_path: Path
) -> None:
    assert tls_gateway.https_port and tls_gateway.certificates is not None
    _, org = cas
    ctx = client_context(org.ca_cert)
    _, before = await https_get(tls_gateway.https_port, CUSTOM, ctx)
    assert org.cover([], ["extra.example.org"])  # re-signed in place: the same files
    stat = os.stat(org.pair.cert)
    os.utime(org.pair.cert, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # coarse mtimes

    async def renewed() -> bool:
        _, cert = await https_get(tls_gateway.https_port or 0, CUSTOM, ctx)
        return "extra.example.org" in sans(cert)

    await wait_for(renewed, within=10)
    assert "extra.example.org" not in sans(before)


async def test_a_broken_replacement_keeps_the_old_certificate(
    cas: tuple[LocalCA, LocalCA], tmp_path: Path
) -> None:
    from gateway.tls import Certificates

    main, org = cas
    bad = tmp_path / "bad.key"
    bad.write_bytes(org.pair.key.read_bytes())
    files = TlsFiles(default=CertPair(main.pair.cert, bad))
    with pytest.raises(ValueError, match=r"bad\.key"):
        Certificates(files)  # at start: refused, naming the file
    certs = Certificates(TlsFiles(default=main.pair, domains={"*.example.org": org.pair}))
    before = certs.context_for(CUSTOM)
    org.pair.key.write_bytes(main.pair.key.read_bytes())  # the key no longer matches
    stat = os.stat(org.pair.key)
    os.utime(org.pair.key, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert not certs.reload()  # tried, refused: the old context stays
    assert certs.context_for(CUSTOM) is before


async def test_redirected_host_gets_301_on_plain_http(tls_gateway: Gateway) -> None:
    reply = await raw_request(
        tls_gateway.port, f"GET /a/b?c=d HTTP/1.1\r\nHost: {CUSTOM}:8080\r\n\r\n".encode()
    )
    head = reply.split(b"\r\n\r\n")[0].decode()
    assert head.startswith("HTTP/1.1 301 ")
    assert f"location: https://{CUSTOM}:{tls_gateway.https_port}/a/b?c=d" in head.split("\r\n")
    # A host that is not redirected still answers on plain HTTP.
    plain = await raw_request(
        tls_gateway.port, f"GET / HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode()
    )
    assert plain.startswith(b"HTTP/1.1 200 ")


async def test_redirected_host_gets_301_over_plain_http2(tls_gateway: Gateway) -> None:
    async with httpx.AsyncClient(http1=False, http2=True, timeout=10) as client:
        reply = await client.get(
            f"http://127.0.0.1:{tls_gateway.port}/a/b?c=d", headers={"host": CUSTOM}
        )
    assert reply.http_version == "HTTP/2" and reply.status_code == 301
    assert reply.headers["location"] == f"https://{CUSTOM}:{tls_gateway.https_port}/a/b?c=d"


def test_sni_match_rules() -> None:
    names = ["*.example.org", "a.example.org", ""]
    assert match("a.example.org", names) == "a.example.org"
    assert match("b.example.org", names) == "*.example.org"
    assert match("x.b.example.org", names) is None  # a wildcard covers one label
    assert CertPair.parse("Shop.Example.org=/c.pem:/k.pem") == (
        "shop.example.org",
        CertPair(Path("/c.pem"), Path("/k.pem")),
    )
    with pytest.raises(ValueError, match="HOST=CERT:KEY"):
        CertPair.parse("shop.example.org=/c.pem")
