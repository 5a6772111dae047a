"""Intake learns each report's fate from routing and case events: `GET /v1/reports/{id}` and Open311 status."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from shared.contracts.cases import CaseClosed, CaseDispatched, CaseFiled, ReportAttached
from shared.contracts.common import CategoryRef, Channel, GridRef, Reporter
from shared.contracts.routing import ManualDispatchNeeded, ReportMerged, RoutedReport, RoutingDecided, RuleRef
from tests.integration.intake.helpers import T0, intake_env, intake_platform, post_ticket, ticket
from tests.integration.intake.test_open311 import FIXMYSTREET_POST

__all__ = ["intake_env"]
ROUTED = RoutedReport(channel=Channel.HOTLINE, reporter=Reporter(kind="citizen"), received_at=T0)
CATEGORY = CategoryRef(scheme="taxonomy", code="0401", name="无照经营游商")


def case(kind: type[Any], version: int, state: str, **fields: Any) -> Any:
    return kind(
        case_id="C-1", case_no="DC2025-0001", state=state, version=version, at=T0 + timedelta(hours=version), **fields
    )


def filed(report_id: str) -> CaseFiled:
    return case(
        CaseFiled,
        1,
        "filed",
        report_id=report_id,
        channel=Channel.HOTLINE,
        category=CATEGORY,
        category_kind="incident",
        grid=GridRef(cell_code="110101001001"),
        priority="normal",
        deadline_profile="1515-general",
        received_at=T0,
    )


async def test_report_status_follows_routing_merge_and_case(pg_url: str, intake_env: Path) -> None:
    async with intake_platform(pg_url, intake_env) as p:
        first = (await post_ticket(p, ticket("T-1"))).json()["report_id"]
        second = (await post_ticket(p, ticket("T-2"), now=T0 + timedelta(seconds=1))).json()["report_id"]
        third = (await post_ticket(p, ticket("T-3"), now=T0 + timedelta(seconds=2))).json()["report_id"]
        staff = p.auth("dispatcher")
        received = (await p.client.get(f"/v1/reports/{first}", headers=staff)).json()
        await p.publish(
            RoutingDecided(
                report_id=first,
                report=ROUTED,
                category=CATEGORY,
                category_kind="incident",
                classification_confidence=0.9,
                grid=GridRef(),
                department_code="CG-01",
                deadline_profile="1515-general",
                rule=RuleRef(rule_id="r1", ruleset_version=1, reason="vending → city management"),
            ),
            subject=first,
        )
        await p.publish(ManualDispatchNeeded(report_id=third, reason="no rule matched"), subject=third)
        await p.publish(filed(first), subject="C-1")
        await p.publish(case(CaseDispatched, 3, "dispatched", department_code="CG-01"), subject="C-1")
        await p.publish(
            ReportMerged(report_id=second, primary_report_id=first, report=ROUTED, reason="same spot"), subject=second
        )
        await p.drain()
        await p.publish(
            case(ReportAttached, 2, "filed", report_id=second, channel=Channel.HOTLINE), subject="C-1"
        )  # redelivered out of order: older than what intake already knows
        await p.drain()
        routed = (await p.client.get(f"/v1/reports/{first}", headers=staff)).json()
        merged = (await p.client.get(f"/v1/reports/{second}", headers=staff)).json()
        queued = (await p.client.get(f"/v1/reports/{third}", headers=staff)).json()
        unknown = await p.client.get("/v1/reports/R20250310999999", headers=staff)
        anonymous = await p.client.get(f"/v1/reports/{first}")
    assert received["stage"] == "received" and received["case"] is None
    assert routed["stage"] == "routed" and routed["department_code"] == "CG-01"
    assert routed["case"] == {"case_id": "C-1", "case_no": "DC2025-0001", "state": "dispatched"}
    assert merged["stage"] == "merged" and merged["merged_into"] == first and merged["case"]["case_id"] == "C-1"
    assert merged["case"]["state"] == "dispatched"
    assert queued["stage"] == "queued" and queued["reason"] == "no rule matched"
    assert (unknown.status_code, anonymous.status_code) == (404, 401)


async def test_open311_request_shows_closed_when_its_case_closes(pg_url: str, intake_env: Path) -> None:
    async with intake_platform(pg_url, intake_env) as p:
        created = await p.client.post("/open311/v2/requests.json", data=FIXMYSTREET_POST)
        request_id = created.json()[0]["service_request_id"]
        await p.publish(filed(request_id), subject="C-1")
        await p.publish(case(CaseClosed, 6, "closed", report_ids=[request_id]), subject="C-1")
        await p.drain()
        closed = (await p.client.get(f"/open311/v2/requests/{request_id}.json")).json()[0]
        only_open = (await p.client.get("/open311/v2/requests.json", params={"status": "open"})).json()
    assert closed["status"] == "closed" and closed["status_notes"] == "case DC2025-0001: closed"
    assert only_open == []


async def test_a_merged_open311_request_shows_the_primary_case_and_its_agency(pg_url: str, intake_env: Path) -> None:
    async with intake_platform(pg_url, intake_env) as p:
        ids = [
            (await p.client.post("/open311/v2/requests.json", data=FIXMYSTREET_POST)).json()[0]["service_request_id"]
            for _ in range(2)
        ]
        first, second = ids
        await p.publish(
            RoutingDecided(
                report_id=first,
                report=ROUTED,
                category=CATEGORY,
                category_kind="incident",
                classification_confidence=0.9,
                grid=GridRef(),
                department_code="CG-01",
                deadline_profile="1515-general",
                rule=RuleRef(rule_id="r1", ruleset_version=1, reason="manhole"),
            ),
            subject=first,
        )
        await p.publish(filed(first), subject="C-1")
        await p.publish(
            ReportMerged(report_id=second, primary_report_id=first, report=ROUTED, reason="same spot"), subject=second
        )
        await p.drain()
        before_attach = (await p.client.get(f"/open311/v2/requests/{second}.json")).json()[0]
        await p.publish(case(ReportAttached, 2, "filed", report_id=second, channel=Channel.OPEN311), subject="C-1")
        await p.drain()
        merged = (await p.client.get(f"/open311/v2/requests/{second}.json")).json()[0]
        listed = (await p.client.get("/open311/v2/requests.json", params={"service_request_id": second})).json()[0]
    assert before_attach["agency_responsible"] == "CG-01"
    assert before_attach["status_notes"].startswith("merged into DC2025-0001")
    assert merged == listed and merged["agency_responsible"] == "CG-01" and merged["status"] == "open"
    assert merged["status_notes"] == f"merged into DC2025-0001 (same problem as {first}): filed"
