"""Data scope on every report-level read (status, contact, photos): the same BOLA matrix as cases.

Intake learns which departments and which street may read a report from the case events it consumes,
never from workflow's tables: these tests feed it only events.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from shared.contracts import parse_as
from shared.contracts.cases import CaseDispatched, CaseFiled, CaseHandled, ReportAttached, WhistleBlown
from shared.contracts.common import CategoryRef, Channel, GridRef, Photo, Reporter
from shared.contracts.reports import ReportReceived
from shared.contracts.routing import RoutedReport, RoutingDecided, RuleRef
from tests.integration.intake.helpers import T0, intake_env, intake_platform, jpeg, png, post_ticket, ticket
from tests.support.harness import RunningPlatform

__all__ = ["intake_env"]
CATEGORY = CategoryRef(scheme="taxonomy", code="0401", name="无照经营游商")
GRID = GridRef(district_code="D1", street_code="S01", community_code="S01-C1", cell_code="S01-C1-1")
# (role, unit) that must never see the report: another department or street, and unit-less scoped tokens
OUTSIDERS = [
    ("department", "PARKS"),
    ("street", "S02"),
    ("inspector", "S02"),
    ("dispatcher", "S02"),
    ("supervisor", "S02"),
    ("department", None),
    ("street", None),
]
# (role, unit) that must: the assigned and the summoned department, the street, district-wide staff
INSIDERS = [
    ("department", "WATER"),
    ("department", "ROADS"),
    ("street", "S01"),
    ("inspector", "S01"),
    ("dispatcher", "S01"),
    ("dispatcher", None),
    ("supervisor", None),
    ("admin", None),
]
CONTACT_ROLES = {"dispatcher", "supervisor", "admin"}


def as_(p: RunningPlatform, role: str, unit: str | None) -> dict[str, str]:
    return p.auth(role=role, unit=unit, subject=f"{role}-{unit or 'all'}")


def case_event(kind: type[Any], version: int, state: str, **fields: Any) -> Any:
    return kind(
        case_id="C-1", case_no="DC2025-0001", state=state, version=version, at=T0 + timedelta(minutes=version), **fields
    )


async def file_case(p: RunningPlatform, report_id: str, *, whistle: bool = True) -> None:
    """The events intake would see for a case in S01 given to WATER, with ROADS summoned by the street."""
    await p.publish(
        RoutingDecided(
            report_id=report_id,
            report=RoutedReport(channel=Channel.HOTLINE, reporter=Reporter(kind="citizen"), received_at=T0),
            category=CATEGORY,
            category_kind="incident",
            classification_confidence=0.9,
            grid=GRID,
            department_code="WATER",
            deadline_profile="1515-general",
            rule=RuleRef(rule_id="r1", ruleset_version=1, reason="test"),
        ),
        subject=report_id,
    )
    await p.publish(
        case_event(
            CaseFiled,
            1,
            "filed",
            report_id=report_id,
            channel=Channel.HOTLINE,
            category=CATEGORY,
            category_kind="incident",
            grid=GRID,
            priority="normal",
            deadline_profile="1515-general",
            received_at=T0,
            department_code="WATER",
        ),
        subject="C-1",
    )
    if whistle:
        await p.publish(
            case_event(
                WhistleBlown,
                2,
                "dispatched",
                department_code="WATER",
                street_code="S01",
                departments=["ROADS"],
                checkin_due_at=T0 + timedelta(hours=2),
            ),
            subject="C-1",
        )
    await p.drain()


async def reports_with_a_photo(p: RunningPlatform) -> tuple[str, str]:
    """A patrol report carrying a photo, merged by the test into the same street; returns (report id, photo uri)."""
    form = {
        "category_code": "0102",
        "lon": "116.4342",
        "lat": "39.9405",
        "description": "占道",
        "occurred_at": "2025-03-10T09:00:00+08:00",
    }
    r = await p.client.post(
        "/v1/patrol/reports",
        data=form,
        files=[("photos", ("a.jpg", jpeg(), "image/jpeg"))],
        headers=p.auth("inspector", "S01", subject="insp-1"),
    )
    assert r.status_code == 202, r.text
    await p.drain()
    received = [parse_as(e, ReportReceived) for e in await p.events("reports.received.v1")]
    return r.json()["report_id"], next(x for x in received if x.report_id == r.json()["report_id"]).photos[0].uri


async def scene(p: RunningPlatform) -> tuple[str, str]:
    """A hotline report whose case is in S01, given to WATER, ROADS summoned; a patrol report with a photo
    attached to the same case (并案). Returns the hotline report id and the photo's URI."""
    report_id = (await post_ticket(p, ticket())).json()["report_id"]
    patrol_id, photo = await reports_with_a_photo(p)
    await file_case(p, report_id)
    await p.publish(
        case_event(
            ReportAttached, 3, "dispatched", report_id=patrol_id, channel=Channel.PATROL, department_code="WATER"
        ),
        subject="C-1",
    )
    await p.drain()
    return report_id, photo


async def read_all(p: RunningPlatform, role: str, unit: str | None, report_id: str, photo: str) -> dict[str, int]:
    headers = as_(p, role, unit)
    status = await p.client.get(f"/v1/reports/{report_id}", headers=headers)
    contact = await p.client.get(f"/v1/reports/{report_id}/contact", headers=headers)
    media = await p.client.get(photo, headers=headers)
    return {"status": status.status_code, "contact": contact.status_code, "media": media.status_code}


async def test_outsiders_get_404_on_report_status_contact_and_media(pg_url: str, intake_env: Path) -> None:
    async with intake_platform(pg_url, intake_env) as p:
        report_id, photo = await scene(p)
        leaks = []
        for role, unit in OUTSIDERS:
            got = await read_all(p, role, unit, report_id, photo)
            expected = {"status": 404, "contact": 404 if role in CONTACT_ROLES else 403, "media": 404}
            if got != expected:
                leaks.append((role, unit, got))
        unknown = await p.client.get("/v1/reports/R20250310999999", headers=as_(p, "department", "PARKS"))
        hidden = await p.client.get(f"/v1/reports/{report_id}", headers=as_(p, "department", "PARKS"))
    assert leaks == []
    assert unknown.json()["error"] | {"reason": ""} == hidden.json()["error"] | {"reason": ""}  # nothing to tell apart


async def test_insiders_read_report_status_contact_and_media(pg_url: str, intake_env: Path) -> None:
    async with intake_platform(pg_url, intake_env) as p:
        report_id, photo = await scene(p)
        seen = {(role, unit): await read_all(p, role, unit, report_id, photo) for role, unit in INSIDERS}
        image = await p.client.get(photo, headers=as_(p, "department", "ROADS"))
    for (role, unit), got in seen.items():
        assert got == {"status": 200, "contact": 200 if role in CONTACT_ROLES else 403, "media": 200}, (role, unit)
    assert image.content.startswith(b"\xff\xd8\xff")


async def test_a_department_sees_a_report_once_its_case_reached_it_and_keeps_it(pg_url: str, intake_env: Path) -> None:
    async with intake_platform(pg_url, intake_env) as p:
        report_id = (await post_ticket(p, ticket())).json()["report_id"]

        async def status(unit: str) -> int:
            return (await p.client.get(f"/v1/reports/{report_id}", headers=as_(p, "department", unit))).status_code

        before = await status("WATER")
        await file_case(p, report_id, whistle=False)
        filed = (await status("WATER"), await status("ROADS"))
        await p.publish(
            case_event(CaseDispatched, 3, "dispatched", department_code="PARKS", redispatch=True), subject="C-1"
        )
        await p.drain()
        redispatched = (await status("WATER"), await status("PARKS"), await status("ROADS"))
    assert before == 404  # no case yet: routing named WATER, but nothing was assigned to it
    assert filed == (200, 404)
    assert redispatched == (200, 200, 404)  # WATER once had it; PARKS has it now; ROADS never


async def test_guessing_report_ids_is_refused_and_counted(pg_url: str, intake_env: Path) -> None:
    from intake.metrics import REPORT_PROBES

    before = REPORT_PROBES.labels("department")._value.get()
    async with intake_platform(pg_url, intake_env, rate_limit_report_misses="5/minute") as p:
        report_id = (await post_ticket(p, ticket())).json()["report_id"]
        headers = as_(p, "department", "PARKS")
        answers = [(await p.client.get(f"/v1/reports/R20250310{n:06d}", headers=headers)) for n in range(2, 9)]
        other = await p.client.get(f"/v1/reports/{report_id}", headers=as_(p, "admin", None))
    assert [a.status_code for a in answers] == [404] * 5 + [429] * 2
    assert int(answers[-1].headers["Retry-After"]) > 0
    assert answers[-1].json()["error"]["code"] == "rate_limited"
    assert REPORT_PROBES.labels("department")._value.get() - before == 2
    assert other.status_code == 200  # another caller is not affected


async def test_an_uploaded_case_photo_is_the_uploaders_until_a_case_event_carries_it(
    pg_url: str, intake_env: Path
) -> None:
    async with intake_platform(pg_url, intake_env) as p:
        report_id = (await post_ticket(p, ticket())).json()["report_id"]
        await file_case(p, report_id)
        water = as_(p, "department", "WATER")
        up = await p.client.post("/v1/media", files=[("photos", ("after.png", png(), "image/png"))], headers=water)
        photo = up.json()[0]

        async def fetch(role: str, unit: str | None) -> int:
            return (await p.client.get(photo["uri"], headers=as_(p, role, unit))).status_code

        before = {
            "uploader": await fetch("department", "WATER"),
            "street": await fetch("street", "S01"),
            "other": await fetch("department", "PARKS"),
            "district": await fetch("dispatcher", None),
        }
        await p.publish(
            case_event(CaseHandled, 4, "handled", department_code="WATER", result="cleared", photos=[Photo(**photo)]),
            subject="C-1",
        )
        await p.drain()
        after = {
            "summoned": await fetch("department", "ROADS"),
            "street": await fetch("street", "S01"),
            "other": await fetch("department", "PARKS"),
            "other street": await fetch("street", "S02"),
        }
    assert before == {"uploader": 200, "street": 404, "other": 404, "district": 200}
    assert after == {"summoned": 200, "street": 200, "other": 404, "other street": 404}


async def test_a_community_centre_reads_only_its_own_communitys_reports(pg_url: str, intake_env: Path) -> None:
    """Tiered handling: a community's staff (level community) see the reports of cases in their community."""
    async with intake_platform(pg_url, intake_env) as p:
        report_id, photo = await scene(p)
        got = {}
        for community in ("S01-C1", "S02-C1", "S01-C2"):
            headers = p.auth("dispatcher", community, subject=f"centre-{community}", level="community")
            status = await p.client.get(f"/v1/reports/{report_id}", headers=headers)
            contact = await p.client.get(f"/v1/reports/{report_id}/contact", headers=headers)
            media = await p.client.get(photo, headers=headers)
            got[community] = (status.status_code, contact.status_code, media.status_code)
    assert got == {"S01-C1": (200, 200, 200), "S02-C1": (404, 404, 404), "S01-C2": (404, 404, 404)}
