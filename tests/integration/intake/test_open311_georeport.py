"""The Open311 endpoint read by the real `georeport` client (PyPI) over real HTTP (uvicorn), JSON and XML.

georeport 0.3 has no way to POST a request, so requests are created with httpx in the spec's form format.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import uvicorn
from georeport import GeoReport

from services.pgserver import free_port
from services.runtime import create_app
from shared.contracts.common import Channel, GridRef, Reporter
from shared.contracts.routing import ReportMerged, RoutedReport, RoutingDecided, RuleRef
from tests.integration.intake.helpers import T0, intake_env, intake_platform, jpeg
from tests.integration.intake.test_open311 import FIXMYSTREET_POST
from tests.integration.intake.test_status import CATEGORY, ROUTED, filed
from tests.support.harness import RunningPlatform

__all__ = ["intake_env"]


@asynccontextmanager
async def served(p: RunningPlatform) -> AsyncIterator[str]:
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
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/open311/v2"
    finally:
        server.should_exit = True
        await task


async def test_georeport_reads_services_and_requests_in_json_and_xml(pg_url: str, intake_env: Path) -> None:
    async with intake_platform(pg_url, intake_env) as p, served(p) as root:
        form = {k: v for k, v in FIXMYSTREET_POST.items() if k not in ("media_url", "description")}
        async with httpx.AsyncClient() as http:
            made = [
                await http.post(
                    f"{root}/requests.json",
                    data={**form, "description": text},
                    files={"media": ("p.jpg", jpeg(text.encode()), "image/jpeg")},
                )
                for text in ("井盖丢失", "同一个井盖")
            ]
        first, second = (m.json()[0]["service_request_id"] for m in made)
        await p.publish(
            RoutingDecided(
                report_id=first,
                report=ROUTED,
                category=CATEGORY,
                category_kind="component",
                classification_confidence=0.9,
                grid=GridRef(),
                department_code="SZ-01",
                deadline_profile="component-A",
                rule=RuleRef(rule_id="r1", ruleset_version=1, reason="manhole"),
            ),
            subject=first,
        )
        await p.publish(filed(first), subject="C-1")
        await p.publish(
            ReportMerged(
                report_id=second,
                primary_report_id=first,
                reason="same cover",
                report=RoutedReport(channel=Channel.OPEN311, reporter=Reporter(kind="citizen"), received_at=T0),
            ),
            subject=second,
        )
        await p.drain()
        as_json, as_xml = GeoReport(root), GeoReport(root, output_format="xml")
        services = await asyncio.to_thread(as_json.get_service_list)
        services_xml = await asyncio.to_thread(as_xml.get_service_list)
        definition = await asyncio.to_thread(as_json.get_service_definition, "manhole_cover")
        listed = await asyncio.to_thread(as_json.get_service_requests, service_code="manhole_cover")
        merged = await asyncio.to_thread(as_json.get_service_request, second)
        merged_xml = await asyncio.to_thread(as_xml.get_service_request, second)
    assert "manhole_cover" in {s["service_code"] for s in services}
    assert {s["service_code"] for s in services} == {s["service_code"] for s in services_xml}
    assert definition["service_code"] == "manhole_cover" and definition["attributes"]
    assert {r["description"] for r in listed} == {"井盖丢失", "同一个井盖"}
    assert all(r[k].endswith("+08:00") for r in listed for k in ("requested_datetime", "updated_datetime"))
    assert merged["agency_responsible"] == "SZ-01" and merged["status_notes"].startswith("merged into DC2025-0001")
    assert merged["media_url"].startswith(root.removesuffix("/open311/v2") + "/v1/media/")
    assert merged_xml["agency_responsible"] == "SZ-01" and merged_xml["description"] == "同一个井盖"
    assert merged_xml["requested_datetime"] == merged["requested_datetime"]
