"""The workflow service alone on a real database and bus, on a manual clock, fed routing decisions."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from shared.clock import ManualClock
from shared.contracts import Envelope
from shared.contracts.common import CategoryRef, Channel, GridRef, Reporter
from shared.contracts.routing import RoutedReport, RoutingDecided, RuleRef
from tests.support.harness import RunningPlatform, running_platform
from workflow.definition import SERVICE

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY_9AM = datetime(2025, 3, 3, 9, 0, tzinfo=SHANGHAI)  # an ordinary working Monday
DEPARTMENTS = Path(__file__).with_name("departments.yaml")


def routing_decided(
    *,
    department: str = "WATER",
    profile: str = "1515-general",
    street: str = "S01",
    channel: Channel = Channel.HOTLINE,
    received_at: datetime = MONDAY_9AM,
    report_id: str | None = None,
    **extra: Any,
) -> RoutingDecided:
    return RoutingDecided(
        report_id=report_id or f"r-{uuid.uuid4().hex[:10]}",
        report=RoutedReport(
            channel=channel,
            reporter=Reporter(kind="citizen"),
            text="water main leaking",
            address="1 Example Road",
            received_at=received_at,
        ),
        category=CategoryRef(scheme="taxonomy", code="010101", name="water supply"),
        category_kind="component",
        grid=GridRef(district_code="D1", street_code=street, community_code=f"{street}-C1", cell_code=f"{street}-C1-1"),
        department_code=department,
        deadline_profile=profile,
        classification_confidence=0.9,
        rule=RuleRef(rule_id="r1", ruleset_version=1, reason="test"),
        **extra,
    )


@dataclass
class Desk:
    """The platform plus the helpers every workflow test needs."""

    p: RunningPlatform
    clock: ManualClock

    def as_(self, role: str, unit: str | None = None, level: str | None = None) -> dict[str, str]:
        return self.p.auth(role=role, unit=unit, subject=f"{role}-{unit or 'all'}", level=level)

    async def file(self, **kwargs: Any) -> dict[str, Any]:
        """Publish a routing decision, wait for the case, return it as the admin sees it."""
        body = routing_decided(**kwargs)
        await self.p.publish(body, subject=body.report_id)
        await self.p.drain()
        r = await self.p.client.get("/v1/cases", headers=self.as_("admin"), params={"limit": 200})
        found = [c for c in r.json()["items"] if body.report_id in c["report_ids"]]
        assert found, f"no case filed for {body.report_id}"
        return found[0]

    async def get(self, case_id: str) -> dict[str, Any]:
        r = await self.p.client.get(f"/v1/cases/{case_id}", headers=self.as_("admin"))
        assert r.status_code == 200, r.text
        return r.json()

    async def act(
        self,
        case_id: str,
        action: str,
        role: str,
        unit: str | None = None,
        *,
        expect: int = 200,
        level: str | None = None,
        **body: Any,
    ) -> dict[str, Any]:
        headers = self.as_(role, unit, level)
        r = await self.p.client.post(f"/v1/cases/{case_id}/{action}", json=body or None, headers=headers)
        assert r.status_code == expect, r.text
        return r.json()  # type: ignore[no-any-return]

    async def advance(self, delta: timedelta) -> None:
        """Move the clock, then wait until every timer due by then has fired and its events are out."""
        self.clock.advance(delta)
        await self.p.drain()

    async def advance_to(self, when: datetime) -> None:
        await self.advance(when - self.clock.now())

    async def case_events(self, case_id: str) -> list[Envelope]:
        await self.p.drain()
        return [e for e in await self.p.events("cases.v1") if e.subject == case_id]

    async def types(self, case_id: str) -> list[str]:
        return [e.type.removeprefix("cityloop.case.").removesuffix(".v1") for e in await self.case_events(case_id)]


@pytest.fixture
async def desk(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Desk]:
    monkeypatch.setenv("CITYLOOP_WORKFLOW_DEPARTMENTS_PATH", str(DEPARTMENTS))
    clock = ManualClock(MONDAY_9AM)
    async with running_platform(pg_url, [SERVICE], clock=clock) as p:
        yield Desk(p, clock)
        # The platform gives workers no stop signal and waits 5 s before cancelling them; the poller is
        # cancel-safe (an interrupted sweep rolls back), so cancel it now.
        for name, task in p.platform.tasks.items():
            if ":worker:" in name:
                task.cancel()
