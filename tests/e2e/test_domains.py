"""Hosts a Service answers on: cluster-local visibility, config-domain, http-protocol."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.harness import EXAMPLES, Server, free_port

CONFIG = """\
network:
  http-protocol: Enabled
domain:
  example.com: ""
  prod.example.org:
    selector:
      app: prod
"""


@pytest.fixture(scope="module")
def domain_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the module: each test applies its own Service."""
    tmp_path = tmp_path_factory.mktemp("domains")
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    args = ["--config", str(config), "--https-port", str(free_port()), "--tls-self-signed"]
    with Server(tmp_path / "state", *args) as srv:
        yield srv


def apply(srv: Server, text: str) -> None:
    out = srv.cli("apply", "-f", "-", stdin=text)
    assert out.returncode == 0, out.stderr


def coffee(name: str, *, labels: str = "", annotations: str = "") -> str:
    text = (EXAMPLES / "coffee.yaml").read_text().replace("name: coffee", f"name: {name}", 1)
    meta = f"  name: {name}\n"
    if labels:
        meta += f"  labels:\n{labels}"
    if annotations:
        meta += f"  annotations:\n{annotations}"
    return text.replace(f"  name: {name}\n", meta, 1)


def test_cluster_local_answers_only_on_svc_hosts(domain_server: Server) -> None:
    labels = "    networking.knative.dev/visibility: cluster-local\n"
    apply(domain_server, coffee("secret", labels=labels))
    svc = domain_server.wait_ready("secret")
    assert svc["status"]["url"] == "http://secret.default.svc.cluster.local"
    assert domain_server.request("secret.default.example.com").status_code == 404
    for host in ("secret.default.svc.cluster.local", "secret.default.svc", "secret.default"):
        resp = domain_server.request(host)
        assert resp.status_code == 200, (host, resp.text)
        assert resp.text == "Hello coffee!\n"


def test_public_service_answers_on_svc_hosts_too(domain_server: Server) -> None:
    apply(domain_server, coffee("coffee"))
    svc = domain_server.wait_ready("coffee")
    assert svc["status"]["url"] == "http://coffee.default.example.com"
    assert svc["status"]["address"] == {"url": "http://coffee.default.svc.cluster.local"}
    for host in ("coffee.default.example.com", "coffee.default.svc.cluster.local"):
        assert domain_server.request(host).status_code == 200


def test_domain_selector_picks_the_url_and_the_host(domain_server: Server) -> None:
    apply(domain_server, coffee("latte", labels="    app: prod\n"))
    svc = domain_server.wait_ready("latte")
    assert svc["status"]["url"] == "http://latte.default.prod.example.org"
    assert domain_server.request("latte.default.prod.example.org").text == "Hello coffee!\n"
    assert domain_server.request("latte.default.example.com").status_code == 404


def test_redirected_gives_301_to_https(domain_server: Server) -> None:
    https_port = domain_server.extra[domain_server.extra.index("--https-port") + 1]
    annotations = "    networking.knative.dev/http-protocol: Redirected\n"
    apply(domain_server, coffee("mocha", annotations=annotations))
    domain_server.wait_ready("mocha")
    resp = domain_server.request("mocha.default.example.com", "/menu?size=l")
    assert resp.status_code == 301
    assert resp.headers["location"] == f"https://mocha.default.example.com:{https_port}/menu?size=l"
    # Cluster-local names are not redirected; over TLS it answers.
    assert domain_server.request("mocha.default.svc.cluster.local").status_code == 200
    ca = domain_server.state_dir / "tls" / "ca.crt"
    with httpx.Client(verify=ssl.create_default_context(cafile=ca)) as client:
        got = client.get(
            f"https://127.0.0.1:{https_port}/",
            headers={"Host": "mocha.default.example.com"},
            extensions={"sni_hostname": "mocha.default.example.com"},
        )
    assert got.text == "Hello coffee!\n"


def test_bad_http_protocol_is_refused_naming_the_field(domain_server: Server) -> None:
    annotations = "    networking.knative.dev/http-protocol: Sometimes\n"
    out = domain_server.cli("apply", "-f", "-", stdin=coffee("bad", annotations=annotations))
    assert out.returncode != 0
    assert "metadata.annotations" in out.stderr and "http-protocol" in out.stderr
    assert domain_server.cli("get", "ksvc", "bad").returncode != 0
