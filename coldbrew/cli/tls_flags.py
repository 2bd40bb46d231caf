"""The HTTPS flags of ``coldbrew serve`` and ``coldbrew gateway``, to and from TlsFiles.

``--https-port PORT`` turns the HTTPS listener on; certificates come from
``--tls-cert FILE --tls-key FILE`` (the default), ``--tls-domain-cert HOST=CERT:KEY``
(repeatable; ``*.example.org`` for a wildcard), ``--tls-dir DIR`` (``{host}.crt`` and
``{host}.key`` pairs), and, for ``serve``, ``--tls-self-signed`` (a local CA under the state
dir signs the default: coldbrew/local_ca.py). Worker processes get the same files as flags
(:func:`worker_args`): paths, never contexts.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from gateway.tls import CertPair, TlsFiles


def add_tls_flags(p: argparse.ArgumentParser, *, self_signed: bool) -> None:
    p.add_argument("--https-port", type=int, help="serve HTTPS on this port too (off: unset)")
    p.add_argument("--tls-cert", type=Path, help="the default certificate chain (PEM)")
    p.add_argument("--tls-key", type=Path, help="the default certificate's key (PEM)")
    p.add_argument(
        "--tls-domain-cert",
        action="append",
        default=[],
        metavar="HOST=CERT:KEY",
        help="a certificate for one host or *.domain, chosen by SNI (repeatable)",
    )
    p.add_argument("--tls-dir", type=Path, help="a directory of {host}.crt/{host}.key pairs")
    if self_signed:
        p.add_argument(
            "--tls-self-signed",
            action="store_true",
            help="sign the default certificate for *.{domain} with a local CA (state dir)",
        )


def tls_files(args: argparse.Namespace) -> TlsFiles | None:
    """The files the flags name; None without ``--https-port``. ValueError: bad flags."""
    if args.https_port is None:
        if args.tls_cert or args.tls_key or args.tls_domain_cert or args.tls_dir:
            raise ValueError("--tls-* flags need --https-port")
        if getattr(args, "tls_self_signed", False):
            raise ValueError("--tls-self-signed needs --https-port")
        return None
    if (args.tls_cert is None) != (args.tls_key is None):
        raise ValueError("--tls-cert and --tls-key go together")
    domains = dict(CertPair.parse(text) for text in args.tls_domain_cert)
    default = CertPair(args.tls_cert, args.tls_key) if args.tls_cert else None
    if getattr(args, "tls_self_signed", False):
        if default is not None:
            raise ValueError("--tls-self-signed replaces --tls-cert/--tls-key: give one")
    elif default is None and not domains and args.tls_dir is None:
        raise ValueError("--https-port needs --tls-cert/--tls-key, --tls-domain-cert, "
                         "--tls-dir or --tls-self-signed")  # fmt: skip
    return TlsFiles(default=default, domains=domains, directory=args.tls_dir)


def worker_args(https_port: int, files: TlsFiles) -> list[str]:
    """``coldbrew gateway`` flags serving HTTPS on ``https_port`` with ``files``."""
    out = ["--https-port", str(https_port)]
    if files.default is not None:
        out += ["--tls-cert", str(files.default.cert), "--tls-key", str(files.default.key)]
    for host, pair in files.domains.items():
        out += ["--tls-domain-cert", f"{host}={pair.cert}:{pair.key}"]
    if files.directory is not None:
        out += ["--tls-dir", str(files.directory)]
    return out
