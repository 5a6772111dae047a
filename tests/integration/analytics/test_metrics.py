"""The Prometheus counters analytics derives count what the read models kept: a rolled-back batch is not counted."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import REGISTRY

from analytics.handlers import project
from shared.contracts.common import Channel, Place, Reporter
from shared.contracts.reports import ReportReceived
from tests.integration.analytics.support import analytics_db


def received(report_id: str) -> ReportReceived:
    return ReportReceived(
        report_id=report_id,
        channel=Channel.OPEN311,
        reporter=Reporter(kind="system", id="gov"),
        text="路灯不亮",
        place=Place(),
        received_at=datetime(2025, 3, 3, 2, tzinfo=UTC),
    )


def open311_reports() -> float:
    return REGISTRY.get_sample_value("cityloop_analytics_reports_total", {"channel": "open311"}) or 0.0


async def test_reports_are_counted_when_their_batch_commits_and_not_when_it_rolls_back(pg_url: str) -> None:
    async with analytics_db(pg_url) as sessions:
        before = open311_reports()
        async with sessions() as session:
            async with session.begin():
                await project(session, [("e1", received("r1")), ("e2", received("r2"))])
                assert open311_reports() == before, "nothing is counted before the commit"
                await session.rollback()
            assert open311_reports() == before
            async with session.begin():
                await project(session, [("e3", received("r3"))])
            assert open311_reports() == before + 1
