"""A reporter's phone and name are erased N days after the case closes, by dropping the report's key.

Driven on the city clock: the test moves a manual clock past the retention period and runs the sweep.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from intake.retention import erase_expired
from shared.clock import ManualClock
from shared.contracts.cases import CaseClosed, CaseFiled, CaseReopened
from shared.contracts.common import CategoryRef, Channel, GridRef
from tests.integration.intake.helpers import T0, intake_env, intake_platform, post_ticket, ticket
from tests.support.harness import RunningPlatform

__all__ = ["intake_env"]
CATEGORY = CategoryRef(scheme="taxonomy", code="0401", name="无照经营游商")
CLOSED_AT = T0 + timedelta(hours=5)


def case_event(kind: type[Any], version: int, state: str, at_hours: float, **fields: Any) -> Any:
    return kind(
        case_id="C-1", case_no="DC2025-0001", state=state, version=version, at=T0 + timedelta(hours=at_hours), **fields
    )


async def closed_case(p: RunningPlatform, report_id: str) -> None:
    await p.publish(
        case_event(
            CaseFiled,
            1,
            "filed",
            0.5,
            report_id=report_id,
            channel=Channel.HOTLINE,
            category=CATEGORY,
            category_kind="incident",
            grid=GridRef(street_code="S01"),
            priority="normal",
            deadline_profile="1515-general",
            received_at=T0,
            department_code="WATER",
        ),
        subject="C-1",
    )
    await p.publish(case_event(CaseClosed, 2, "closed", 5, report_ids=[report_id]), subject="C-1")
    await p.drain()


async def test_contact_is_erased_after_the_retention_period_and_audited(pg_url: str, intake_env: Path) -> None:
    clock = ManualClock(T0)
    async with intake_platform(pg_url, intake_env, clock=clock) as p:
        report_id = (await post_ticket(p, ticket())).json()["report_id"]
        other_id = (await post_ticket(p, ticket("T-open"), now=T0 + timedelta(seconds=1))).json()["report_id"]
        await closed_case(p, report_id)
        runtime = p.runtime("intake")
        dispatcher = p.auth("dispatcher")

        clock.set(CLOSED_AT + timedelta(days=180) - timedelta(minutes=1))
        too_early = await erase_expired(runtime)
        kept = await p.client.get(f"/v1/reports/{report_id}/contact", headers=dispatcher)

        clock.set(CLOSED_AT + timedelta(days=180, minutes=1))
        erased = await erase_expired(runtime)
        again = await erase_expired(runtime)
        gone = await p.client.get(f"/v1/reports/{report_id}/contact", headers=dispatcher)
        status = await p.client.get(f"/v1/reports/{report_id}", headers=dispatcher)
        still_open = await p.client.get(f"/v1/reports/{other_id}/contact", headers=dispatcher)
        async with runtime.transaction() as session:
            audit = (await session.execute(text("SELECT * FROM intake.pii_erasures"))).mappings().all()
            keys = (await session.execute(text("SELECT report_id FROM intake.report_keys"))).scalars().all()
            body = (
                await session.execute(
                    text("SELECT body::text FROM intake.reports WHERE report_id = :r"), {"r": report_id}
                )
            ).scalar_one()
        events = await p.events("reports.received.v1")
    assert too_early == 0 and kept.json() == {"phone": "13812345678", "name": "王女士"}
    assert erased == 1 and again == 0
    assert gone.status_code == 410 and gone.json()["error"]["field"] == "contact"
    assert status.status_code == 200 and status.json()["case"]["state"] == "closed"  # the report stays readable
    assert still_open.json()["phone"] == "13812345678"  # a report whose case is open keeps its details
    assert [
        (a["report_id"], a["case_id"], a["closed_at"], a["erased_at"], a["retention_days"], a["reason"]) for a in audit
    ] == [(report_id, "C-1", CLOSED_AT, CLOSED_AT + timedelta(days=180, minutes=1), 180, "retention")]
    assert keys == [other_id]  # the erased report's key is gone: its ciphertext can never be opened again
    assert "13812345678" not in body and "王女士" not in body and len(events) == 2  # events never carried them


async def test_reopening_stops_the_retention_clock_and_the_period_is_configurable(
    pg_url: str, intake_env: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("CITYLOOP_INTAKE_PII_RETENTION_DAYS", "30")
    clock = ManualClock(T0)
    async with intake_platform(pg_url, intake_env, clock=clock) as p:
        report_id = (await post_ticket(p, ticket())).json()["report_id"]
        await closed_case(p, report_id)
        await p.publish(case_event(CaseReopened, 3, "dispatched", 10, reason="citizen unsatisfied"), subject="C-1")
        await p.drain()
        clock.set(CLOSED_AT + timedelta(days=31))
        while_reopened = await erase_expired(p.runtime("intake"))
        await p.publish(case_event(CaseClosed, 4, "closed", 24 * 40, report_ids=[report_id]), subject="C-1")
        await p.drain()
        clock.set(T0 + timedelta(days=40 + 29))
        before_second_period = await erase_expired(p.runtime("intake"))
        clock.set(T0 + timedelta(days=40 + 31))
        after_second_period = await erase_expired(p.runtime("intake"))
    assert (while_reopened, before_second_period, after_second_period) == (0, 0, 1)
