"""Acceptance: a real Prometheus (Debian's package) scrapes the running services; every PromQL panel of every
generated dashboard returns data, every SQL panel returns rows, and no panel names a metric no service exports."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import uvicorn
from sqlalchemy import text

from analytics.dashboards import dashboards, targets
from services.pgserver import free_port
from services.registry import load_many
from services.runtime import create_app
from shared.bus.base import OutMessage
from shared.contracts.common import CategoryRef, Channel, GridRef, Reporter
from shared.contracts.routing import RoutedReport, RoutingDecided, RuleRef
from tests.integration.analytics.test_replay import publish
from tests.support.case_history import generate
from tests.support.harness import RunningPlatform, running_platform

PROMETHEUS = shutil.which("prometheus")
pytestmark = pytest.mark.skipif(PROMETHEUS is None, reason="needs Prometheus: apt-get install -y prometheus")
SCRAPE_S = 1
METRIC = re.compile(r"\b(cityloop_[a-z0-9_]+)")
SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")


def family(name: str) -> str:
    """The metric family a sample name belongs to (histogram and counter suffixes stripped)."""
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


@asynccontextmanager
async def serving(p: RunningPlatform) -> AsyncIterator[str]:
    """The platform's real HTTP app (with /metrics) on a loopback port."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(p.platform, manage_lifecycle=False),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.05)
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def prometheus(target: str) -> AsyncIterator[str]:
    assert PROMETHEUS is not None
    work = Path(tempfile.mkdtemp(prefix="cityloop-prom-"))
    (work / "prometheus.yml").write_text(
        f"global: {{scrape_interval: {SCRAPE_S}s, evaluation_interval: {SCRAPE_S}s}}\n"
        f"scrape_configs:\n  - job_name: cityloop\n    static_configs: [{{targets: ['{target}']}}]\n"
    )
    port = free_port()
    process = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={work / 'prometheus.yml'}",
            f"--storage.tsdb.path={work / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(200):
                try:
                    if (await client.get(f"{url}/-/ready")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        shutil.rmtree(work, ignore_errors=True)


def routing_decision(now: datetime) -> RoutingDecided:
    """One report the router would hand the workflow: it files a real case with timers."""
    return RoutingDecided(
        report_id="rep-dashboard-seed",
        report=RoutedReport(channel=Channel.HOTLINE, reporter=Reporter(kind="citizen"), received_at=now),
        category=CategoryRef(scheme="taxonomy", code="0101"),
        category_kind="component",
        classification_confidence=0.9,
        grid=GridRef(district_code="330102"),
        department_code="CGW",
        deadline_profile="1515-general",
        rule=RuleRef(rule_id="seed", ruleset_version=1, reason="test"),
    )


async def test_every_dashboard_panel_returns_data_from_a_real_prometheus_and_the_analytics_schema(
    pg_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CITYLOOP_WORKFLOW_METRICS_INTERVAL_S", "1")
    history = generate(150, seed=5)
    boards = dashboards()
    async with running_platform(pg_url, load_many("all")) as p:
        await publish(p, history)
        await p.publish(routing_decision(datetime.now(UTC)), subject="rep-dashboard-seed")
        await p.bus.publish([OutMessage("cases.v1", "poison", b"not an envelope")])  # one dead letter
        await p.drain(timeout_s=240)
        async with serving(p) as target, prometheus(target) as prom, httpx.AsyncClient(timeout=30) as client:
            for _ in range(12):  # traffic between scrapes, so rates and latency quantiles have samples
                await client.get(f"http://{target}/v1/kpis", headers=p.auth("supervisor"))
                await client.get(
                    f"http://{target}/v1/kpis", params={"dimension": "nonsense"}, headers=p.auth("supervisor")
                )
                await asyncio.sleep(SCRAPE_S)
            exported = {family(n) for n in METRIC.findall((await client.get(f"http://{target}/metrics")).text)}
            failures = []
            for board_name, board in boards.items():
                for title, target_json in targets(board):
                    if "expr" not in target_json:
                        continue
                    expr = target_json["expr"].replace("$__rate_interval", f"{10 * SCRAPE_S}s")
                    unknown = {family(m) for m in METRIC.findall(expr)} - exported
                    if unknown:
                        failures.append(f"{board_name} / {title}: no service exports {sorted(unknown)}")
                        continue
                    answer = (await client.get(f"{prom}/api/v1/query", params={"query": expr})).json()
                    if answer.get("status") != "success" or not answer["data"]["result"]:
                        failures.append(f"{board_name} / {title}: no data for {expr} ({answer})")
        this_month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
        target = await p.client.put(
            "/v1/targets",
            headers=p.auth("supervisor"),
            json={"score": "closure_rate", "scope": "department", "unit": "CGW", "period": this_month, "value": 0.98},
        )
        assert target.status_code == 200, target.text
        sql_panels = 0
        async with p.runtime("analytics").sessions() as session:
            for board_name, board in boards.items():
                for title, target_json in targets(board):
                    if "rawSql" not in target_json:
                        continue
                    sql_panels += 1
                    sql = (
                        target_json["rawSql"]
                        .replace("$__timeFrom()", f"'{(history.start - timedelta(days=1)).isoformat()}'")
                        .replace("$__timeTo()", f"'{(history.end + timedelta(days=1)).isoformat()}'")
                    )
                    rows = (await session.execute(text(sql))).all()
                    if not rows:
                        failures.append(f"{board_name} / {title}: SQL returned no rows")
    assert sql_panels >= 5
    assert not failures, "\n".join(failures)
