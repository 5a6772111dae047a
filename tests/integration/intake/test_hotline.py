"""12345 hotline webhook against a real database and bus."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

from intake.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER
from shared.contracts import parse_as
from shared.contracts.reports import ReportReceived, ReportUpdated
from tests.integration.intake.helpers import T0, intake_env, intake_platform, post_ticket, signed, ticket

__all__ = ["intake_env"]


async def test_ticket_is_accepted_once_and_published_with_masked_phone(pg_url: str, intake_env: Path) -> None:
    async with intake_platform(pg_url, intake_env) as p:
        first = await post_ticket(p, ticket())
        assert first.status_code == 202, first.text
        report_id = first.json()["report_id"]
        await p.drain()
        events = await p.events("reports.received.v1")
        contact = await p.client.get(f"/v1/reports/{report_id}/contact", headers=p.auth("dispatcher"))
        not_allowed = await p.client.get(f"/v1/reports/{report_id}/contact", headers=p.auth("inspector"))
        async with p.runtime("intake").transaction() as session:
            at_rest = (await session.execute(text("SELECT body::text, contact_sealed FROM intake.reports"))).one()
    assert contact.json() == {"phone": "13812345678", "name": "王女士"} and not_allowed.status_code == 403
    assert "13812345678" not in at_rest[0] and b"13812345678" not in at_rest[1]
    assert "王女士" not in at_rest[0] and "王女士" not in events[0].to_bytes().decode()
    assert [e.subject for e in events] == [report_id]
    report = parse_as(events[0], ReportReceived)
    assert report.external_id == "GD20250310-0001"
    assert report.reporter.phone_masked == "138****5678" and report.reporter.name == "王**"
    assert "13812345678" not in events[0].to_bytes().decode()
    assert report.hotline_class == "general"


async def test_duplicate_ticket_returns_first_report_id(pg_url: str, intake_env: Path) -> None:
    async with intake_platform(pg_url, intake_env) as p:
        first = await post_ticket(p, ticket())
        again = await post_ticket(p, ticket(content="重复推送"), now=T0 + timedelta(seconds=1))
        await p.drain()
        events = await p.events("reports.received.v1")
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json() == {**first.json(), "status": "duplicate"} | {"count": None, "reason": None, "field": None}
    assert len(events) == 1


async def test_unsigned_stale_bad_and_replayed_requests_are_refused(pg_url: str, intake_env: Path) -> None:
    async with intake_platform(pg_url, intake_env) as p:
        raw, headers = signed(ticket(), T0)
        unsigned = await p.client.post("/v1/hotline/tickets", content=raw, headers={"Content-Type": "application/json"})
        stale_raw, stale_headers = signed(ticket(), T0 - timedelta(minutes=6))
        stale = await p.client.post("/v1/hotline/tickets", content=stale_raw, headers=stale_headers)
        forged = await p.client.post("/v1/hotline/tickets", content=raw.replace(b"09:12", b"09:13"), headers=headers)
        ok = await p.client.post("/v1/hotline/tickets", content=raw, headers=headers)
        replay = await p.client.post("/v1/hotline/tickets", content=raw, headers=headers)
    assert unsigned.status_code == 401 and unsigned.json()["error"]["field"] == TIMESTAMP_HEADER
    assert stale.status_code == 401 and "window" in stale.json()["error"]["reason"]
    assert forged.status_code == 401 and forged.json()["error"]["field"] == SIGNATURE_HEADER
    assert ok.status_code == 202
    assert replay.status_code == 409 and replay.json()["error"]["field"] == SIGNATURE_HEADER


async def test_follow_up_reaches_the_bus_as_report_updated(pg_url: str, intake_env: Path) -> None:
    async with intake_platform(pg_url, intake_env) as p:
        report_id = (await post_ticket(p, ticket())).json()["report_id"]
        update = {"update_id": "U1", "kind": "withdrawn", "text": "市民来电撤诉", "at": "2025-03-10T09:30:00+08:00"}
        raw, headers = signed(update, T0)
        path = "/v1/hotline/tickets/GD20250310-0001/updates"
        answer = await p.client.post(path, content=raw, headers=headers)
        raw2, headers2 = signed(update, T0 + timedelta(seconds=2))
        again = await p.client.post(path, content=raw2, headers=headers2)
        raw3, headers3 = signed(update, T0 + timedelta(seconds=3))
        unknown = await p.client.post("/v1/hotline/tickets/NOPE/updates", content=raw3, headers=headers3)
        await p.drain()
        events = await p.events("reports.received.v1")
    assert (answer.status_code, again.status_code, unknown.status_code) == (202, 200, 404)
    updates = [parse_as(e, ReportUpdated) for e in events if e.type == "cityloop.report.updated.v1"]
    assert [(u.report_id, u.kind) for u in updates] == [(report_id, "withdrawn")]


async def test_tickets_arriving_together_are_admitted_in_shared_transactions(pg_url: str, intake_env: Path) -> None:
    """A 12345 peak: concurrent tickets share group commits, and each still gets its own, exact answer —
    a ticket pushed twice in the same moment is one report, a replayed signature is refused."""
    async with intake_platform(pg_url, intake_env) as p:
        bodies = [ticket(f"GD-PEAK-{i:03d}", content=f"第{i}号路灯不亮") for i in range(40)]
        raws = [signed(b, T0 + timedelta(milliseconds=i)) for i, b in enumerate(bodies)]
        twice = signed(ticket("GD-PEAK-000", content="重复推送"), T0 + timedelta(seconds=1))
        replayed = raws[1]
        admissions = p.runtime("intake").services["intake"].admissions
        answers = await asyncio.gather(
            *(p.client.post("/v1/hotline/tickets", content=raw, headers=h) for raw, h in [*raws, twice, replayed])
        )
        await p.drain()
        events = await p.events("reports.received.v1")
        async with p.runtime("intake").transaction() as session:
            stored = (await session.execute(text("SELECT count(*) FROM intake.reports"))).scalar_one()
            statuses = (await session.execute(text("SELECT count(*) FROM intake.report_status"))).scalar_one()
    accepted = [a for a in answers if a.status_code == 202]
    codes = sorted(a.status_code for a in answers)
    assert codes.count(202) == 40 and codes.count(200) == 1 and codes.count(409) == 1, codes
    first = answers[0].json()["report_id"] if answers[0].status_code == 202 else answers[40].json()["report_id"]
    duplicate = next(a for a in answers if a.status_code == 200)
    assert duplicate.json()["report_id"] == first
    assert next(a for a in answers if a.status_code == 409).json()["error"]["field"] == SIGNATURE_HEADER
    ids = [a.json()["report_id"] for a in accepted]
    assert len(set(ids)) == 40 and stored == statuses == 40
    assert sorted(e.subject for e in events) == sorted(ids)
    assert admissions.batches < admissions.items == 42  # shared: fewer transactions than tickets


async def test_report_numbers_come_from_the_sequence_a_block_at_a_time(pg_url: str, intake_env: Path) -> None:
    """Tickets one after another and at once get distinct numbers in order, and the sequence is read once per
    block of numbers, not once per group commit."""
    from intake.service import REPORT_NUMBER_BLOCK

    async with intake_platform(pg_url, intake_env) as p:
        one_by_one = [await post_ticket(p, ticket(f"GD-SEQ-{i}")) for i in range(3)]
        together = await asyncio.gather(*(post_ticket(p, ticket(f"GD-SEQ-{i}")) for i in range(3, 12)))
        async with p.runtime("intake").transaction() as session:
            taken = (await session.execute(text("SELECT last_value FROM intake.report_no"))).scalar_one()
    ids = [r.json()["report_id"] for r in [*one_by_one, *together]]
    numbers = [int(report_id[-6:]) for report_id in ids]
    assert len(set(ids)) == 12 and numbers[:3] == [numbers[0], numbers[0] + 1, numbers[0] + 2]
    assert sorted(numbers) == list(range(numbers[0], numbers[0] + 12))
    assert taken == numbers[0] + REPORT_NUMBER_BLOCK - 1
