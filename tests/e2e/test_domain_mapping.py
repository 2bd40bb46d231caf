"""DomainMapping end to end: the seed article's custom host, claimed once, durable, TLS."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx

from tests.e2e.harness import EXAMPLES, Server, free_port, wait_for

SHOP = "shop.example.org"
MAPPING = """\
apiVersion: serving.knative.dev/v1beta1
kind: DomainMapping
metadata:
  name: shop.example.org
  namespace: {namespace}
spec:
  ref:
    name: coffee
    kind: Service
    apiVersion: serving.knative.dev/v1
"""


def condition(obj: dict, kind: str) -> str:
    return next(c["status"] for c in obj["status"]["conditions"] if c["type"] == kind)


def test_domain_mapping_serves_refuses_a_second_claim_and_survives_restart(
    tmp_path: Path,
) -> None:
    https_port = free_port()
    args = ("--https-port", str(https_port), "--tls-self-signed")
    server = Server(tmp_path / "state", *args)
    server.start()
    try:
        assert server.cli("apply", "-f", str(EXAMPLES / "coffee.yaml")).returncode == 0
        server.wait_ready("coffee")
        out = server.cli("apply", "-f", "-", stdin=MAPPING.format(namespace="default"))
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == f"domainmapping.serving.knative.dev/{SHOP} created"
        wait_for(lambda: server.request(SHOP).status_code == 200, what="the mapped host")
        assert server.request(SHOP).text == "Hello coffee!\n"

        dm = server.client().get("domainmappings", SHOP, "default")
        assert dm["status"]["url"] == f"https://{SHOP}"
        for kind in ("Ready", "DomainClaimed", "ReferenceResolved", "CertificateProvisioned"):
            assert condition(dm, kind) == "True", dm["status"]
        table = server.cli("get", "dm")
        header, row = table.stdout.splitlines()
        assert header.split() == ["NAME", "URL", "READY", "KSVC"]
        assert row.split() == [SHOP, f"https://{SHOP}", "True", "coffee"]

        # The same host from another namespace: refused, naming the field, nothing stored.
        second = server.cli("apply", "-f", "-", stdin=MAPPING.format(namespace="shop"))
        assert second.returncode != 0
        assert "metadata.name" in second.stderr and "already claimed" in second.stderr
        assert server.cli("get", "dm", "-n", "shop").stderr.startswith("No resources found")

        # Over TLS: the local CA re-signs its certificate for the mapped host.
        ctx = ssl.create_default_context(cafile=server.state_dir / "tls" / "ca.crt")

        def over_tls() -> bool:
            try:
                with httpx.Client(verify=ctx) as client:
                    got = client.get(
                        f"https://127.0.0.1:{https_port}/",
                        headers={"Host": SHOP},
                        extensions={"sni_hostname": SHOP},
                    )
            except httpx.ConnectError:  # the certificate does not name it yet
                return False
            return got.text == "Hello coffee!\n"

        wait_for(over_tls, timeout=15, interval=0.5, what="the mapped host over TLS")
    finally:
        assert server.stop() == 0, server.log()[-4000:]

    server = Server(tmp_path / "state", *args)
    server.start()
    try:
        server.wait_ready("coffee")
        wait_for(lambda: server.request(SHOP).status_code == 200, what="the mapping, restored")
        out = server.cli("delete", "dm", SHOP)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == f'domainmapping.serving.knative.dev "{SHOP}" deleted'
        assert server.request(SHOP).status_code == 404
    finally:
        assert server.stop() == 0, server.log()[-4000:]


def test_bad_mapping_is_refused_naming_the_field(server: Server) -> None:
    bad = MAPPING.format(namespace="default").replace("kind: Service", "kind: Route")
    out = server.cli("apply", "-f", "-", stdin=bad)
    assert out.returncode != 0
    assert "spec.ref.kind" in out.stderr
    bad = MAPPING.format(namespace="default").replace(SHOP, "Not_A_Host")
    out = server.cli("apply", "-f", "-", stdin=bad)
    assert out.returncode != 0 and "metadata.name" in out.stderr
    assert server.cli("get", "dm").stderr.startswith("No resources found")
