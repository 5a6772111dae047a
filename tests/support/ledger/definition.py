"""Ledger test service: consumes ReportUpdated events and writes an effect row per event (plus an echo)."""

from __future__ import annotations

import os

from sqlalchemy import insert

from shared.contracts.reports import TOPIC, ReportUpdated
from shared.handling import HandlerContext
from shared.service import ConsumerSpec, ServiceDefinition
from tests.support.ledger.models import effects, metadata

FAIL_TEXT = "always-fail"


async def record(ctx: HandlerContext, body: ReportUpdated) -> None:
    if body.text == FAIL_TEXT:
        raise RuntimeError("this handler always fails for this text")
    await ctx.session.execute(insert(effects).values(event_id=ctx.envelope.id, key=body.report_id, seq=body.count or 0))


SERVICE = ServiceDefinition(
    name="ledger",
    package="tests.support.ledger",
    metadata=metadata,
    consumers=[
        ConsumerSpec(
            group="ledger",
            handlers={"cityloop.report.updated.v1": record},
            topics=[os.environ.get("LEDGER_TOPIC", TOPIC)],
        )
    ],
)
