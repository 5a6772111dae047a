"""A ledger service process for crash tests: `python -m tests.support.ledger_worker consume|stage-and-die|...`.

Settings come from the environment (CITYLOOP_DATABASE_URL, CITYLOOP_BUS, CITYLOOP_KAFKA_BOOTSTRAP, LEDGER_TOPIC).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import UTC, datetime

from services.runtime import Platform
from shared.contracts.reports import ReportUpdated
from shared.db.outbox import Outbox
from shared.settings import Settings
from tests.support.ledger.definition import SERVICE


async def consume_forever() -> None:
    platform = Platform([SERVICE], Settings())
    await platform.start()
    print("ready", flush=True)
    await asyncio.Event().wait()


async def stage_and_die(report_id: str, commit: bool) -> None:
    """Write an event to the outbox in a transaction, then die by SIGKILL before any relay runs."""
    platform = Platform([SERVICE], Settings())
    await platform.migrate()
    async with platform.sessions() as session:
        await session.begin()
        body = ReportUpdated(report_id=report_id, kind="supplement", text="staged", at=datetime.now(UTC))
        await Outbox(SERVICE.outbox_table, "/cityloop/ledger", platform.clock).add(session, body, subject=report_id)
        if commit:
            await session.commit()
        else:
            await session.rollback()
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "consume":
        asyncio.run(consume_forever())
    elif command == "stage-and-die":
        asyncio.run(stage_and_die(sys.argv[2], commit=sys.argv[3] == "commit"))
