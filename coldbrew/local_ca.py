"""``--tls-self-signed``: a local certificate authority and the gateway's certificate.

On first use the CA (``ca.crt``, ``ca.key`` mode 0600) is made under ``{state}/tls``;
trust ``ca.crt`` (``curl --cacert``, the system store) and every certificate it signed is
trusted. The gateway's certificate (``gateway.crt``/``gateway.key``) covers
``{domain}``, ``*.{domain}`` and ``*.{namespace}.{domain}`` for every namespace served,
plus the custom hosts (DomainMappings): a wildcard matches one label only, so
``coffee.default.example.com`` needs ``*.default.example.com``. :meth:`LocalCA.cover`
re-signs it when a name is missing, keeping its key, so the gateway (which reloads by
mtime) never reads a certificate that does not match its key.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gateway.tls import CertPair

CA_DAYS = 3650
LEAF_DAYS = 397  # what browsers accept for a server certificate
CA_USAGE = x509.KeyUsage(
    digital_signature=True, content_commitment=False, key_encipherment=False,
    data_encipherment=False, key_agreement=False, key_cert_sign=True,
    crl_sign=True, encipher_only=False, decipher_only=False,
)  # fmt: skip


def _write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write atomically (a temporary file renamed over ``path``) with ``mode``."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path}: not an EC private key")
    return key


class LocalCA:
    """The CA under ``directory`` and the gateway certificate it signs for ``domain``."""

    def __init__(self, directory: Path, domain: str) -> None:
        self.directory = directory
        self.domain = domain.lower()
        self.ca_cert = directory / "ca.crt"
        self.ca_key = directory / "ca.key"
        self.pair = CertPair(directory / "gateway.crt", directory / "gateway.key")
        self._have: set[str] | None = None  # the certificate's names, read once
        directory.mkdir(parents=True, exist_ok=True)
        if not (self.ca_cert.is_file() and self.ca_key.is_file()):
            self._make_ca()
        self.cover(["default"], [])

    def _make_ca(self) -> None:
        key = _new_key()
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "coldbrew local CA")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(CA_USAGE, critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        _write(self.ca_key, _key_pem(key), 0o600)
        _write(self.ca_cert, cert.public_bytes(serialization.Encoding.PEM))

    def names(self, namespaces: Iterable[str], hosts: Iterable[str]) -> list[str]:
        """The DNS names the gateway certificate must carry (sorted, no duplicates)."""
        wanted = {self.domain, f"*.{self.domain}"}
        wanted |= {f"*.{ns.lower()}.{self.domain}" for ns in namespaces}
        wanted |= {host.lower() for host in hosts}
        return sorted(wanted)

    def covered(self) -> set[str]:
        """The DNS names of the current gateway certificate (empty if none)."""
        try:
            cert = x509.load_pem_x509_certificate(self.pair.cert.read_bytes())
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        except (OSError, ValueError, x509.ExtensionNotFound):
            return set()
        return set(san.value.get_values_for_type(x509.DNSName))

    def cover(self, namespaces: Iterable[str], hosts: Iterable[str]) -> bool:
        """Re-sign the gateway certificate if a name is missing; True if it did."""
        names = self.names(namespaces, hosts)
        if self._have is None:
            self._have = self.covered()
        have = self._have
        if have and set(names) <= have:
            return False
        names = sorted(set(names) | have)
        if self.pair.key.is_file():
            key = _load_key(self.pair.key)
        else:
            key = _new_key()
            _write(self.pair.key, _key_pem(key), 0o600)
        ca_key = _load_key(self.ca_key)
        ca_cert = x509.load_pem_x509_certificate(self.ca_cert.read_bytes())
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"*.{self.domain}")]))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=LEAF_DAYS))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
            )
            .sign(ca_key, hashes.SHA256())
        )
        _write(self.pair.cert, cert.public_bytes(serialization.Encoding.PEM))
        self._have = set(names)
        return True
