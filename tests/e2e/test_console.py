"""The live console, opened in headless Chromium against a real ``coldbrew serve``."""

from __future__ import annotations

import copy
import re
from importlib import resources
from pathlib import Path

import httpx

from tests.e2e.browser import Browser
from tests.e2e.harness import ROOT, Hey, Server, wait_for
from tests.e2e.test_reserve import COFFEE, manifest
from tests.tooling import needs_tool

ARTIFACTS = ROOT / "tests" / "artifacts"
ROWS = "document.querySelectorAll('#services tbody tr[data-service]')"
POD_CHART = "document.getElementById('pods-chart').dataset"
TOTAL_P50 = "Number(document.getElementById('total-p50').dataset.ms || 'NaN')"
TOTAL_P99 = "Number(document.getElementById('total-p99').dataset.ms || 'NaN')"


def test_the_console_ships_its_assets_and_loads_nothing_from_elsewhere(server: Server) -> None:
    page = httpx.get(f"{server.admin_url}/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assets = resources.files("coldbrew.console") / "assets"
    for name in ("index.html", "console.js", "console.css"):
        text = (assets / name).read_text()
        urls = set(re.findall(r"https?://[^\s\"'`)]+", text)) - {"http://www.w3.org/2000/svg"}
        assert not urls, (name, urls)  # works offline: no CDN
        served = httpx.get(f"{server.admin_url}/console/assets/{name}")
        assert served.status_code == 200 and served.text == text
    assert httpx.get(f"{server.admin_url}/console/assets/..%2Fsnapshot.py").status_code == 404
    state = httpx.get(f"{server.admin_url}/console/state").json()
    assert state["services"] == [] and state["totals"]["standard"] == 0
    assert state["totals"]["p50Ms"] is None and state["totals"]["p99Ms"] is None


@needs_tool("chromium")
@needs_tool("hey")
async def test_the_console_lists_services_and_its_pods_chart_follows_a_hey_run(
    server: Server,
) -> None:
    for name in ("coffee.yaml", "tea.yaml"):
        server.client().apply(manifest(name))
    server.wait_ready("coffee")
    server.wait_ready("tea")
    async with Browser() as browser:
        page = await browser.open(f"{server.admin_url}/")
        await page.wait_for(f"{ROWS}.length === 3")  # "all", coffee, tea
        names = await page.evaluate(f"[...{ROWS}].map(r => r.dataset.service)")
        assert names == ["*", "default/coffee", "default/tea"]
        await page.wait_for(f"{POD_CHART}.latestTotal === '2'")  # one pod each
        before = int(await page.evaluate(f"{POD_CHART}.changes"))
        # The load stays on until the page has shown the scale-out (then hey is stopped): a
        # fixed-length run could end first on a loaded machine, and the rps fall back to 0.
        with Hey("-z", "60s", "-c", "40", "-host", COFFEE, f"{server.url}/?sleep=50") as hey:
            grew = await page.wait_for(f"Number({POD_CHART}.maxTotal) > 2", timeout=45)
            assert grew
            await page.wait_for("document.getElementById('total-rps').textContent !== '0'")
            # p50 and p99 of the last 10 s, from the gateway's histogram: every request
            # sleeps 50 ms in the pod, so neither can be below 50 ms
            await page.wait_for(f"{TOTAL_P50} > 0 && {TOTAL_P99} > 0", timeout=30)
            p50 = float(await page.evaluate(TOTAL_P50))
            p99 = float(await page.evaluate(TOTAL_P99))
            assert 50 <= p50 <= p99 < 60000, (p50, p99)
            coffee = await page.evaluate(
                "document.querySelector('tr[data-service=\"default/coffee\"]').textContent"
            )
            assert "ms" in coffee, coffee
            async with httpx.AsyncClient() as client:
                state = (await client.get(f"{server.admin_url}/console/state")).json()
            served = {s["name"]: s for s in state["services"]}
            assert served["coffee"]["p50Ms"] >= 50, served["coffee"]
            assert served["coffee"]["p99Ms"] >= served["coffee"]["p50Ms"]
            assert served["coffee"]["revisions"][0]["p50Ms"] >= 50
            assert served["tea"]["p50Ms"] is None  # no request to tea in the window
            await page.screenshot(ARTIFACTS / "console-hey.png")
            codes = hey.stop()
        assert set(codes) == {"200"}, hey.report
        assert int(await page.evaluate(f"{POD_CHART}.changes")) > before
        # the coffee service alone: its revision, its traffic share
        await page.evaluate("document.querySelector('tr[data-service=\"default/coffee\"]').click()")
        await page.wait_for(
            "document.getElementById('selected-name').textContent === 'default/coffee'"
        )
        revision = await page.wait_for(
            "document.querySelector('#revisions tr[data-revision]')?.textContent"
        )
        assert "default/coffee-00001" in revision and "100%" in revision


@needs_tool("chromium")
async def test_the_console_stays_usable_with_100_services(tmp_path: Path) -> None:
    """100 services at initial scale 0 (allowed by the config), no reserve: no pods at all."""
    config = tmp_path / "config.yaml"
    config.write_text("autoscaler:\n  allow-zero-initial-scale: true\n")
    server = Server(tmp_path / "state", "--config", str(config))
    server.start()
    try:
        base = manifest("tea.yaml", **{
            "autoscaling.knative.dev/initial-scale": "0",
            "knative.aliyun.com/reserve-instance": "disable",
        })  # fmt: skip
        client = server.client()
        for i in range(100):
            doc = copy.deepcopy(base)
            doc["metadata"]["name"] = f"svc-{i:03d}"
            client.apply(doc)
        wait_for(lambda: len(client.get("ksvc")["items"]) == 100, what="100 services")
        assert server.pods() == []
        async with Browser() as browser:
            page = await browser.open(f"{server.admin_url}/")
            await page.wait_for(f"{ROWS}.length === 101", timeout=30)
            # still polling: the status line changes with every answer
            first = await page.evaluate("document.getElementById('status').textContent")
            await page.wait_for(f"document.getElementById('status').textContent !== {first!r}")
            filter_js = (
                "(() => { const f = document.getElementById('filter');"
                " f.value = 'svc-04'; f.dispatchEvent(new Event('input')); })()"
            )
            await page.evaluate(filter_js)
            await page.wait_for(f"{ROWS}.length === 11")  # "all" and svc-040..049
            await page.evaluate(
                "document.querySelector('tr[data-service=\"default/svc-042\"]').click()"
            )
            await page.wait_for(
                "document.getElementById('selected-name').textContent === 'default/svc-042'"
            )
            assert await page.evaluate(f"{POD_CHART}.latestTotal") == "0"
            # no request anywhere: no quantile, shown as "-", and the latency chart drawn
            assert await page.evaluate("document.getElementById('total-p50').textContent") == "-"
            assert (
                await page.evaluate("document.getElementById('latency-chart').dataset.p99")
                == "null"
            )
            await page.screenshot(ARTIFACTS / "console-100-services.png")
    finally:
        assert server.stop() == 0, server.log()[-4000:]
